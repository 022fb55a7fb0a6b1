-- name: EmployeeByWeComUserID :one
-- The active employee a WeCom member is (employees belong to the tenant domain; this only reads them).
SELECT id, name FROM employees
WHERE tenant_id = @tenant_id AND wecom_userid = @wecom_userid AND wecom_userid <> '' AND status = 'active';

-- name: EmployeeName :one
SELECT name FROM employees WHERE tenant_id = @tenant_id AND id = @id;

-- name: ChannelByState :one
SELECT id, name, welcome_text, tags FROM wecom_channels WHERE tenant_id = @tenant_id AND state = @state;

-- name: ChannelWelcome :one
SELECT name, welcome_text FROM wecom_channels WHERE tenant_id = @tenant_id AND id = @id;

-- name: CreditChannel :execrows
INSERT INTO wecom_channel_adds (tenant_id, channel_id, customer_id, employee_id, added_at)
VALUES (@tenant_id, @channel_id, @customer_id, sqlc.narg(employee_id), now())
ON CONFLICT (tenant_id, channel_id, customer_id) DO NOTHING;
