-- A member who returns to the WeCom directory (issue 16, point 2: the directory mirrored both ways): an
-- employee the directory disabled because they left is enabled again when WeCom lists them as active once
-- more, seat permitting. left_directory tells those from employees an admin disabled, whom the directory
-- never enables. Enabling or disabling by an admin clears it.
ALTER TABLE employees ADD COLUMN left_directory boolean NOT NULL DEFAULT false;
