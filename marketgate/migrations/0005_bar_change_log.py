"""The bar change log: which session dates' bars changed, by which transaction.

Every statement that updates or deletes daily bars appends one row per date it touched;
the bulk writers log the dates they insert themselves; any other insert, and a
TRUNCATE, appends one row with no date (everything may have changed). The scan's bar
cache (marketgate/data/bar_cache.py) compares these rows with the snapshot it was built
at, so a write by any path — import, ingest, admin, SQL — is seen. PostgreSQL only.
"""

from django.db import migrations

TABLE = "marketgate_dailybar"

FORWARD = f"""
CREATE TABLE marketgate_barchange (
    id bigserial PRIMARY KEY,
    date date NULL,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX marketgate_barchange_xid ON marketgate_barchange (xid);

CREATE FUNCTION marketgate_log_bar_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO marketgate_barchange (date) SELECT DISTINCT date FROM old_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO marketgate_barchange (date)
            SELECT date FROM new_rows UNION SELECT date FROM old_rows;
    END IF;
    RETURN NULL;
END $$;

-- Inserts: the bulk writers (marketgate/data/bulk.py) log the dates they write
-- themselves and say so for the statement (stockgate.bar_dates_logged = on); a
-- transition table of a million inserted rows cost a fifth of the COPY. Any other
-- insert logs "dates unknown" (a full re-read for the cache).
CREATE FUNCTION marketgate_log_bar_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('stockgate.bar_dates_logged', true), '') <> 'on' THEN
        INSERT INTO marketgate_barchange (date) VALUES (NULL);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION marketgate_log_bar_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO marketgate_barchange (date) VALUES (NULL);
    RETURN NULL;
END $$;

CREATE TRIGGER marketgate_dailybar_inserted AFTER INSERT ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION marketgate_log_bar_inserts();
CREATE TRIGGER marketgate_dailybar_updated AFTER UPDATE ON {TABLE}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION marketgate_log_bar_rows();
CREATE TRIGGER marketgate_dailybar_deleted AFTER DELETE ON {TABLE}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION marketgate_log_bar_rows();
CREATE TRIGGER marketgate_dailybar_truncated AFTER TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION marketgate_log_bar_truncate();
"""

BACKWARD = f"""
DROP TRIGGER IF EXISTS marketgate_dailybar_inserted ON {TABLE};
DROP TRIGGER IF EXISTS marketgate_dailybar_updated ON {TABLE};
DROP TRIGGER IF EXISTS marketgate_dailybar_deleted ON {TABLE};
DROP TRIGGER IF EXISTS marketgate_dailybar_truncated ON {TABLE};
DROP FUNCTION IF EXISTS marketgate_log_bar_rows();
DROP FUNCTION IF EXISTS marketgate_log_bar_truncate();
DROP FUNCTION IF EXISTS marketgate_log_bar_inserts();
DROP TABLE IF EXISTS marketgate_barchange;
"""


def _statements(script: str) -> list[str]:
    # One statement per execute; function bodies ($$ ... $$) keep their semicolons.
    out, current, quoted = [], [], False
    for line in script.strip().splitlines():
        current.append(line)
        quoted ^= line.count("$$") % 2 == 1
        if line.rstrip().endswith(";") and not quoted:
            out.append("\n".join(current))
            current = []
    return out


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in _statements(FORWARD):
            schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in _statements(BACKWARD):
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("marketgate", "0004_bar_fetch_failures")]
    operations = [migrations.RunPython(forward, backward)]
