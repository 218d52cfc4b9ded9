-- Runs once, as the superuser (only a superuser can create an event trigger), in the database Warden guards.
-- At the end of each DDL command, outside Warden too (a migration on a direct connection), it notifies the channel
-- an environment names as upstream.catalog_channel (here warden_catalog; keep the two the same), and Warden drops
-- its catalog entries for that database at once instead of when they expire (5 s). The notification is sent when
-- the DDL's transaction commits. DDL on temporary objects only (pg_temp) is not sent: no other session can reach
-- them, and sessions that make them per request would otherwise empty Warden's catalog on every request.
-- The payload is empty: every role may LISTEN, and what changed is none of its business.
-- Nothing here needs a privilege: pg_notify is open to every role, and the function runs as whoever ran the DDL.
CREATE FUNCTION public.warden_catalog_changed() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF TG_EVENT = 'sql_drop' THEN
        IF EXISTS (SELECT FROM pg_event_trigger_dropped_objects() WHERE NOT is_temporary)
                OR NOT EXISTS (SELECT FROM pg_event_trigger_dropped_objects()) THEN
            PERFORM pg_notify('warden_catalog', '');
        END IF;
    ELSIF TG_TAG LIKE 'DROP %' THEN
        NULL; -- what a DROP removes is reported by sql_drop, with whether it was temporary
    ELSIF EXISTS (SELECT FROM pg_event_trigger_ddl_commands()
                  WHERE schema_name IS NULL OR NOT (schema_name = 'pg_temp' OR schema_name LIKE 'pg\_temp\_%'))
            OR NOT EXISTS (SELECT FROM pg_event_trigger_ddl_commands()) THEN
        PERFORM pg_notify('warden_catalog', '');
    END IF;
END
$$;
CREATE EVENT TRIGGER warden_catalog_changed ON ddl_command_end EXECUTE FUNCTION public.warden_catalog_changed();
CREATE EVENT TRIGGER warden_catalog_dropped ON sql_drop EXECUTE FUNCTION public.warden_catalog_changed();
-- Also under session_replication_role = replica (pg_restore --disable-triggers, replication tools), which would
-- otherwise keep both silent.
ALTER EVENT TRIGGER warden_catalog_changed ENABLE ALWAYS;
ALTER EVENT TRIGGER warden_catalog_dropped ENABLE ALWAYS;
