-- turnlane_refuse(reason): raises SQLSTATE TL000 with `reason` as the message. A single-statement
-- claim or commit calls it when a check made after its writes fails (a row it selected was changed
-- by a concurrent statement), so the whole statement, and with it every write, is undone.
CREATE FUNCTION turnlane_refuse(reason text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'TL000', MESSAGE = reason;
END
$$;
