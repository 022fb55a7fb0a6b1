-- A plan's change is recorded in the audit log of each enterprise on the plan (issue 17: the operators'
-- actions on a tenant are in its log; a plan's terms are what its enterprises get), in the transaction that
-- changes it. The application role writes only its own tenant's log, so the owner's function does it, and
-- the owner may insert entries of this one action and no other.
-- While it runs it reads the tenants on the plan as operator_tenant_ids (023) does.
CREATE FUNCTION operator_audit_plan(p_name text, p_actor uuid, p_address text, p_before jsonb, p_after jsonb)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
DECLARE
  n integer;
BEGIN
  PERFORM set_config('app.operator_list_tenants', 'on', true);
  INSERT INTO audit_log (tenant_id, id, at, actor_id, actor_role, address, action, target_kind, target_id, before, after)
  SELECT t.id, gen_random_uuid(), now(), p_actor, 'operator', left(p_address, 64), 'plan.update', 'tenant', t.id,
         p_before, p_after
  FROM tenants t WHERE t.plan = p_name;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM set_config('app.operator_list_tenants', '', true);
  RETURN n;
END $$;
CREATE POLICY operator_plan_audit ON audit_log FOR INSERT TO CURRENT_USER WITH CHECK (action = 'plan.update');
REVOKE ALL ON FUNCTION operator_audit_plan(text, uuid, text, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION operator_audit_plan(text, uuid, text, jsonb, jsonb) TO salesapp_app;
