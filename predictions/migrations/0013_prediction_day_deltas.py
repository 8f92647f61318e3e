"""Each person's days as rows to be summed (issue 22, items 4 and 5): the triggers only ever
INSERT what a statement adds to or takes from each day, never update a shared row, so writers
of the same person on the same day no longer wait for each other's commit; readers sum a day's
rows, and a periodic task (prediction_days_compact) folds them back into one."""

from importlib import import_module

from django.db import migrations, models

_0012 = import_module("predictions.migrations.0012_prediction_days")
DELTAS, COLUMNS, ROW = _0012.DELTAS, _0012.COLUMNS, _0012.ROW


def _insert(rows: str) -> str:
    # Plain rows, no ON CONFLICT: a new row locks nothing another writer waits on.
    return (
        f"INSERT INTO predictions_predictionday ({COLUMNS}) "
        f"SELECT * FROM ({DELTAS.format(rows=rows)}) AS x"
    )


_INSERTED = _insert("SELECT " + ROW + ", 1 AS sign FROM new_rows")
_DELETED = _insert("SELECT " + ROW + ", -1 AS sign FROM old_rows")
_UPDATED = _insert(
    _0012._CHANGED.format(side="n", sign=1) + " UNION ALL " + _0012._CHANGED.format(side="o", sign=-1)
)
_RECOUNTED = _insert(
    "SELECT " + ROW + ", 1 AS sign FROM predictions_prediction WHERE user_id = NEW.id"
)

FORWARD = f"""
DROP TRIGGER predictions_day_time_zone ON accounts_user;
DROP TRIGGER predictions_day_stride ON predictions_recording;
DROP TRIGGER predictions_day_insert ON predictions_prediction;
DROP TRIGGER predictions_day_delete ON predictions_prediction;
DROP TRIGGER predictions_day_update ON predictions_prediction;
DROP FUNCTION predictions_day_time_zone();
DROP FUNCTION predictions_day_stride();
DROP FUNCTION predictions_day_rollup();

-- The shared advisory lock stays: a change of time zone takes it alone (0012).
CREATE FUNCTION predictions_day_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_0012._LOCK_INSERTED};
        {_INSERTED};
    ELSIF TG_OP = 'DELETE' THEN
        {_0012._LOCK_DELETED};
        {_DELETED};
    ELSE
        {_0012._LOCK_UPDATED};
        {_UPDATED};
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER predictions_day_insert AFTER INSERT ON predictions_prediction
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION predictions_day_delta();
CREATE TRIGGER predictions_day_delete AFTER DELETE ON predictions_prediction
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION predictions_day_delta();
CREATE TRIGGER predictions_day_update AFTER UPDATE ON predictions_prediction
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION predictions_day_delta();

-- A recording's windows are stored before its stride is: when the stride changes, each of
-- their days' seconds move by the difference (a row of seconds, no results).
CREATE FUNCTION predictions_day_stride_delta() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta float8 := coalesce(NEW.stride_s, 30.0) - coalesce(OLD.stride_s, 30.0);
BEGIN
    PERFORM pg_advisory_xact_lock_shared(22003, (NEW.user_id % 2147483647)::int);
    INSERT INTO predictions_predictionday ({COLUMNS})
    SELECT p.user_id, (p.measured_at AT TIME ZONE u.time_zone)::date, 0, 0, 0, 0, 0.0,
           delta * count(*), delta * sum(p.probability_low),
           delta * sum(p.probability_medium), delta * sum(p.probability_high)
    FROM predictions_prediction AS p JOIN accounts_user AS u ON u.id = p.user_id
    WHERE p.recording_id = NEW.id GROUP BY 1, 2;
    RETURN NULL;
END $$;

CREATE TRIGGER predictions_day_stride AFTER UPDATE OF stride_s ON predictions_recording
    FOR EACH ROW WHEN (OLD.stride_s IS DISTINCT FROM NEW.stride_s)
    EXECUTE FUNCTION predictions_day_stride_delta();

-- A person's days are counted again in their new time zone, alone: the exclusive lock waits
-- for their writers and for a compaction of their days, which take it shared.
CREATE FUNCTION predictions_day_time_zone_recount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(22003, (NEW.id % 2147483647)::int);
    DELETE FROM predictions_predictionday WHERE user_id = NEW.id;
    {_RECOUNTED};
    RETURN NULL;
END $$;

CREATE TRIGGER predictions_day_time_zone AFTER UPDATE OF time_zone ON accounts_user
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION predictions_day_time_zone_recount();

-- Deleting a person deletes their days, then their predictions, whose trigger then adds rows
-- taking them away again: those go with the person (their key would fail at commit).
CREATE FUNCTION predictions_day_person_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM predictions_predictionday WHERE user_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;

CREATE TRIGGER predictions_day_person_gone AFTER DELETE ON accounts_user
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION predictions_day_person_gone();
"""

# Back to 0012: its triggers and one row a day, counted again from the rows (the unique
# constraint comes back on the emptied table).
DROP = """
DROP TRIGGER IF EXISTS predictions_day_person_gone ON accounts_user;
DROP TRIGGER IF EXISTS predictions_day_time_zone ON accounts_user;
DROP TRIGGER IF EXISTS predictions_day_stride ON predictions_recording;
DROP TRIGGER IF EXISTS predictions_day_insert ON predictions_prediction;
DROP TRIGGER IF EXISTS predictions_day_delete ON predictions_prediction;
DROP TRIGGER IF EXISTS predictions_day_update ON predictions_prediction;
DROP FUNCTION IF EXISTS predictions_day_person_gone();
DROP FUNCTION IF EXISTS predictions_day_time_zone_recount();
DROP FUNCTION IF EXISTS predictions_day_stride_delta();
DROP FUNCTION IF EXISTS predictions_day_delta();
DELETE FROM predictions_predictionday;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('predictions', '0012_prediction_days'),
    ]

    # Backwards these run in reverse: the new triggers go and the table is emptied, the
    # constraint comes back, then 0012's triggers and its backfill.
    operations = [
        migrations.RunPython(migrations.RunPython.noop, _0012._on_postgresql(_0012.FORWARD)),
        migrations.RemoveConstraint(
            model_name='predictionday',
            name='prediction_day_unique',
        ),
        migrations.AddIndex(
            model_name='predictionday',
            index=models.Index(fields=['user', 'day'], name='prediction_day_user_day'),
        ),
        migrations.RunPython(_0012._on_postgresql(FORWARD), _0012._on_postgresql(DROP)),
    ]
