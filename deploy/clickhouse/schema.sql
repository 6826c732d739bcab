-- FlowWatch aggregate tables for ClickHouse (18.16 and >= 23.8). Applied at start and by `flowwatch migrate`;
-- every statement is IF NOT EXISTS, so running it again changes nothing. Column by column: docs/ANALYST-GUIDE.md.
--
-- Storage tables (*_rows) hold what each batch of events added, keyed by batch_id. The same events always form a
-- batch with the same id, so inserting a batch again adds rows that ReplacingMergeTree collapses; the analyst views
-- read the storage tables with FINAL and so never count a batch twice, merged or not.
--
-- Times are DateTime('Etc/GMT-8'): the fixed UTC+8 of the rules' calendar (RULES.md §1). 'Asia/Shanghai' would follow
-- the tz database into the daylight saving time of 1986–1991.

CREATE DATABASE IF NOT EXISTS flowwatch;

CREATE TABLE IF NOT EXISTS flowwatch.payments_minute_rows
(
    batch_id String,
    entity_id String,
    minute DateTime('Etc/GMT-8'),
    account_kind String,
    channel String,
    direction String,
    currency String,
    events UInt64,
    amount Decimal(38, 10),
    amount_cny Decimal(38, 10)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (entity_id, minute, account_kind, channel, direction, currency, batch_id);

CREATE TABLE IF NOT EXISTS flowwatch.corridor_minute_rows
(
    batch_id String,
    minute DateTime('Etc/GMT-8'),
    account_kind String,
    cp_kind String,
    cp_country String,
    currency String,
    direction String,
    events UInt64,
    amount_cny Decimal(38, 10)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, account_kind, cp_kind, cp_country, currency, direction, batch_id);

CREATE TABLE IF NOT EXISTS flowwatch.alert_rows
(
    alert_id String,
    rule String,
    severity String,
    entity_id String,
    account String,
    txn_id String,
    ts DateTime('Etc/GMT-8'),
    detected_at DateTime('Etc/GMT-8'),
    message String,
    metrics String,
    refs String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (rule, entity_id, alert_id);

CREATE TABLE IF NOT EXISTS flowwatch.penetration_rows
(
    entity_id String,
    year UInt16,
    net_inflow Decimal(38, 10),
    inflow_cap Nullable(Decimal(38, 10)),
    outflow_cap Nullable(Decimal(38, 10)),
    inflow_utilisation Nullable(Decimal(38, 6)),
    outflow_utilisation Nullable(Decimal(38, 6)),
    updated_at DateTime('Etc/GMT-8'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (entity_id, year);

-- Roll-ups: ClickHouse folds every inserted block of minute rows into hour and day rows, still per batch, so a
-- repeated batch collapses here too.
CREATE MATERIALIZED VIEW IF NOT EXISTS flowwatch.payments_hour_rows
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (entity_id, hour, account_kind, channel, direction, currency, batch_id)
AS SELECT batch_id, entity_id, toStartOfHour(minute) AS hour, account_kind, channel, direction, currency,
    sum(events) AS events, sum(amount) AS amount, sum(amount_cny) AS amount_cny
FROM flowwatch.payments_minute_rows
GROUP BY batch_id, entity_id, hour, account_kind, channel, direction, currency;

CREATE MATERIALIZED VIEW IF NOT EXISTS flowwatch.payments_day_rows
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (entity_id, day, account_kind, channel, direction, currency, batch_id)
AS SELECT batch_id, entity_id, toDate(minute) AS day, account_kind, channel, direction, currency,
    sum(events) AS events, sum(amount) AS amount, sum(amount_cny) AS amount_cny
FROM flowwatch.payments_minute_rows
GROUP BY batch_id, entity_id, day, account_kind, channel, direction, currency;

CREATE MATERIALIZED VIEW IF NOT EXISTS flowwatch.corridor_hour_rows
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, account_kind, cp_kind, cp_country, currency, direction, batch_id)
AS SELECT batch_id, toStartOfHour(minute) AS hour, account_kind, cp_kind, cp_country, currency, direction,
    sum(events) AS events, sum(amount_cny) AS amount_cny
FROM flowwatch.corridor_minute_rows
GROUP BY batch_id, hour, account_kind, cp_kind, cp_country, currency, direction;

CREATE MATERIALIZED VIEW IF NOT EXISTS flowwatch.corridor_day_rows
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (day, account_kind, cp_kind, cp_country, currency, direction, batch_id)
AS SELECT batch_id, toDate(minute) AS day, account_kind, cp_kind, cp_country, currency, direction,
    sum(events) AS events, sum(amount_cny) AS amount_cny
FROM flowwatch.corridor_minute_rows
GROUP BY batch_id, day, account_kind, cp_kind, cp_country, currency, direction;

-- Analyst views: the same names and columns as in DuckDB, so one query runs on both.
CREATE VIEW IF NOT EXISTS flowwatch.payments_minute AS
SELECT entity_id, minute, toDate(minute) AS day, account_kind, channel, direction, currency,
    sum(events) AS events, sum(amount) AS amount, sum(amount_cny) AS amount_cny
FROM flowwatch.payments_minute_rows FINAL
GROUP BY entity_id, minute, account_kind, channel, direction, currency;

CREATE VIEW IF NOT EXISTS flowwatch.payments_hourly AS
SELECT entity_id, hour, toDate(hour) AS day, account_kind, channel, direction, currency,
    sum(events) AS events, sum(amount) AS amount, sum(amount_cny) AS amount_cny
FROM flowwatch.payments_hour_rows FINAL
GROUP BY entity_id, hour, account_kind, channel, direction, currency;

CREATE VIEW IF NOT EXISTS flowwatch.payments_daily AS
SELECT entity_id, day, account_kind, channel, direction, currency,
    sum(events) AS events, sum(amount) AS amount, sum(amount_cny) AS amount_cny
FROM flowwatch.payments_day_rows FINAL
GROUP BY entity_id, day, account_kind, channel, direction, currency;

CREATE VIEW IF NOT EXISTS flowwatch.corridor_minute AS
SELECT minute, toDate(minute) AS day, account_kind, cp_kind, cp_country, currency, direction,
    sum(events) AS events, sum(amount_cny) AS amount_cny
FROM flowwatch.corridor_minute_rows FINAL
GROUP BY minute, account_kind, cp_kind, cp_country, currency, direction;

CREATE VIEW IF NOT EXISTS flowwatch.corridor_hourly AS
SELECT hour, toDate(hour) AS day, account_kind, cp_kind, cp_country, currency, direction,
    sum(events) AS events, sum(amount_cny) AS amount_cny
FROM flowwatch.corridor_hour_rows FINAL
GROUP BY hour, account_kind, cp_kind, cp_country, currency, direction;

CREATE VIEW IF NOT EXISTS flowwatch.corridor_daily AS
SELECT day, account_kind, cp_kind, cp_country, currency, direction,
    sum(events) AS events, sum(amount_cny) AS amount_cny
FROM flowwatch.corridor_day_rows FINAL
GROUP BY day, account_kind, cp_kind, cp_country, currency, direction;

CREATE VIEW IF NOT EXISTS flowwatch.alerts AS
SELECT alert_id, rule, severity, entity_id, account, txn_id, ts, toDate(ts) AS day, detected_at, message, metrics, refs
FROM flowwatch.alert_rows FINAL;

CREATE VIEW IF NOT EXISTS flowwatch.penetration_positions AS
SELECT entity_id, year, net_inflow, inflow_cap, outflow_cap, inflow_utilisation, outflow_utilisation, updated_at
FROM flowwatch.penetration_rows FINAL;
