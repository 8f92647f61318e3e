"""Each person's days, summed: the table the summaries read and the triggers that keep it
exact (issue 22, item 3)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# What a set of changed predictions adds to (sign 1) or takes from (sign -1) each of its
# people's days. {rows} yields (user_id, measured_at, recording_id, stress_level, confidence,
# probability_low, probability_medium, probability_high, sign). A day is the date of
# measured_at in the person's time zone, as TruncDay(tzinfo=...) buckets it; a result stands
# for its recording's stride in seconds, 30 s (a typed reading's window) when it has none.
DELTAS = """
SELECT c.user_id,
       (c.measured_at AT TIME ZONE u.time_zone)::date AS day,
       sum(c.sign)::int AS total,
       coalesce(sum(c.sign) FILTER (WHERE c.stress_level = 'low'), 0)::int AS low,
       coalesce(sum(c.sign) FILTER (WHERE c.stress_level = 'medium'), 0)::int AS medium,
       coalesce(sum(c.sign) FILTER (WHERE c.stress_level = 'high'), 0)::int AS high,
       sum(c.sign * c.confidence) AS confidence_sum,
       sum(c.sign * w.s) AS seconds,
       sum(c.sign * w.s * c.probability_low) AS low_seconds,
       sum(c.sign * w.s * c.probability_medium) AS medium_seconds,
       sum(c.sign * w.s * c.probability_high) AS high_seconds
FROM ({rows}) AS c
JOIN accounts_user AS u ON u.id = c.user_id
LEFT JOIN predictions_recording AS r ON r.id = c.recording_id
CROSS JOIN LATERAL (SELECT coalesce(r.stride_s, 30.0)::float8 AS s) AS w
GROUP BY 1, 2
"""
COLUMNS = (
    "user_id, day, total, low, medium, high, confidence_sum, seconds, low_seconds, "
    "medium_seconds, high_seconds"
)
SUMMED = COLUMNS.split(", ")[2:]
ROW = (
    "user_id, measured_at, recording_id, stress_level, confidence, probability_low, "
    "probability_medium, probability_high"
)


def _upsert(rows: str) -> str:
    adds = ", ".join(f"{c} = d.{c} + excluded.{c}" for c in SUMMED)
    return (
        f"INSERT INTO predictions_predictionday AS d ({COLUMNS}) "
        f"SELECT * FROM ({DELTAS.format(rows=rows)}) AS x ORDER BY user_id, day "
        f"ON CONFLICT (user_id, day) DO UPDATE SET {adds}"
    )


def _subtract(rows: str) -> str:
    takes = ", ".join(f"{c} = d.{c} + x.{c}" for c in SUMMED)
    return (
        f"UPDATE predictions_predictionday AS d SET {takes} "
        f"FROM ({DELTAS.format(rows=rows)}) AS x WHERE d.user_id = x.user_id AND d.day = x.day"
    )


# A day left without results goes (its float sums may keep a rounding's dust).
_EMPTIED = (
    "DELETE FROM predictions_predictionday WHERE total <= 0 "
    "AND user_id IN (SELECT DISTINCT user_id FROM {table})"
)
# Writers of one person share a lock that a change of their time zone takes alone: a day is
# counted in the zone the person has when the writer commits (READ COMMITTED: each statement
# below reads the zone afresh once the lock is held). Key space 22003: no other advisory lock.
_LOCK = (
    "PERFORM pg_advisory_xact_lock{kind}(22003, (u % 2147483647)::int) "
    "FROM (SELECT DISTINCT user_id AS u FROM {table} ORDER BY 1) AS s"
)
_CHANGED = (
    "SELECT {side}.user_id, {side}.measured_at, {side}.recording_id, {side}.stress_level, "
    "{side}.confidence, {side}.probability_low, {side}.probability_medium, "
    "{side}.probability_high, {sign} AS sign "
    "FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id "
    "WHERE (o.user_id, o.measured_at, o.recording_id, o.stress_level, o.confidence, "
    "o.probability_low, o.probability_medium, o.probability_high) IS DISTINCT FROM "
    "(n.user_id, n.measured_at, n.recording_id, n.stress_level, n.confidence, "
    "n.probability_low, n.probability_medium, n.probability_high)"
)

_INSERTED = _upsert("SELECT " + ROW + ", 1 AS sign FROM new_rows")
_DELETED = _subtract("SELECT " + ROW + ", -1 AS sign FROM old_rows")
_UPDATED = _upsert(
    _CHANGED.format(side="n", sign=1) + " UNION ALL " + _CHANGED.format(side="o", sign=-1)
)
_UPDATED_USERS = "(SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows) AS b"
_RECOUNTED = _upsert(
    "SELECT " + ROW + ", 1 AS sign FROM predictions_prediction WHERE user_id = NEW.id"
)
_BACKFILL = _upsert("SELECT " + ROW + ", 1 AS sign FROM predictions_prediction")

_LOCK_INSERTED = _LOCK.format(kind="_shared", table="new_rows")
_LOCK_DELETED = _LOCK.format(kind="_shared", table="old_rows")
_LOCK_UPDATED = _LOCK.format(kind="_shared", table=_UPDATED_USERS)
_EMPTIED_OLD = _EMPTIED.format(table="old_rows")

FORWARD = f"""
CREATE FUNCTION predictions_day_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_LOCK_INSERTED};
        {_INSERTED};
    ELSIF TG_OP = 'DELETE' THEN
        {_LOCK_DELETED};
        {_DELETED};
        {_EMPTIED_OLD};
    ELSE
        {_LOCK_UPDATED};
        {_UPDATED};
        {_EMPTIED_OLD};
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER predictions_day_insert AFTER INSERT ON predictions_prediction
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION predictions_day_rollup();
CREATE TRIGGER predictions_day_delete AFTER DELETE ON predictions_prediction
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION predictions_day_rollup();
CREATE TRIGGER predictions_day_update AFTER UPDATE ON predictions_prediction
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION predictions_day_rollup();

-- A recording's windows are stored before its stride is: when the stride changes, each of
-- their days' seconds move by the difference.
CREATE FUNCTION predictions_day_stride() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta float8 := coalesce(NEW.stride_s, 30.0) - coalesce(OLD.stride_s, 30.0);
BEGIN
    PERFORM pg_advisory_xact_lock_shared(22003, (NEW.user_id % 2147483647)::int);
    UPDATE predictions_predictionday AS d
    SET seconds = d.seconds + delta * x.n,
        low_seconds = d.low_seconds + delta * x.low,
        medium_seconds = d.medium_seconds + delta * x.medium,
        high_seconds = d.high_seconds + delta * x.high
    FROM (SELECT p.user_id, (p.measured_at AT TIME ZONE u.time_zone)::date AS day,
                 count(*) AS n, sum(p.probability_low) AS low,
                 sum(p.probability_medium) AS medium, sum(p.probability_high) AS high
          FROM predictions_prediction AS p JOIN accounts_user AS u ON u.id = p.user_id
          WHERE p.recording_id = NEW.id GROUP BY 1, 2) AS x
    WHERE d.user_id = x.user_id AND d.day = x.day;
    RETURN NULL;
END $$;

CREATE TRIGGER predictions_day_stride AFTER UPDATE OF stride_s ON predictions_recording
    FOR EACH ROW WHEN (OLD.stride_s IS DISTINCT FROM NEW.stride_s)
    EXECUTE FUNCTION predictions_day_stride();

-- A person's days are counted again in their new time zone (alone: see the lock above).
CREATE FUNCTION predictions_day_time_zone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(22003, (NEW.id % 2147483647)::int);
    DELETE FROM predictions_predictionday WHERE user_id = NEW.id;
    {_RECOUNTED};
    RETURN NULL;
END $$;

CREATE TRIGGER predictions_day_time_zone AFTER UPDATE OF time_zone ON accounts_user
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION predictions_day_time_zone();

-- Every prediction stored before.
{_BACKFILL};
"""

BACKWARD = """
DROP TRIGGER IF EXISTS predictions_day_time_zone ON accounts_user;
DROP TRIGGER IF EXISTS predictions_day_stride ON predictions_recording;
DROP TRIGGER IF EXISTS predictions_day_insert ON predictions_prediction;
DROP TRIGGER IF EXISTS predictions_day_delete ON predictions_prediction;
DROP TRIGGER IF EXISTS predictions_day_update ON predictions_prediction;
DROP FUNCTION IF EXISTS predictions_day_time_zone();
DROP FUNCTION IF EXISTS predictions_day_stride();
DROP FUNCTION IF EXISTS predictions_day_rollup();
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            # No parameters: the SQL's % are its own.
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('predictions', '0011_personal_models'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PredictionDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('total', models.IntegerField()),
                ('low', models.IntegerField()),
                ('medium', models.IntegerField()),
                ('high', models.IntegerField()),
                ('confidence_sum', models.FloatField()),
                ('seconds', models.FloatField()),
                ('low_seconds', models.FloatField()),
                ('medium_seconds', models.FloatField()),
                ('high_seconds', models.FloatField()),
                ('user', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('user', 'day'), name='prediction_day_unique')],
            },
        ),
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD)),
    ]
