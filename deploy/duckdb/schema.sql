-- FlowWatch aggregate tables for an embedded DuckDB file: the same analyst views as ClickHouse
-- (deploy/clickhouse/schema.sql). Applied at start and by `flowwatch migrate`; running it again changes nothing.
-- Times are Asia/Shanghai wall-clock times (TIMESTAMP without zone), as ClickHouse shows its DateTime('Etc/GMT-8').
--
-- Storage tables (*_rows) hold what each batch of events added, with batch_id in the primary key; the writer inserts
-- with ON CONFLICT DO NOTHING, so a batch inserted again is ignored.

CREATE TABLE IF NOT EXISTS payments_minute_rows
(
    batch_id VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    minute TIMESTAMP NOT NULL,
    account_kind VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    direction VARCHAR NOT NULL,
    currency VARCHAR NOT NULL,
    events UBIGINT NOT NULL,
    amount DECIMAL(38, 10) NOT NULL,
    amount_cny DECIMAL(38, 10) NOT NULL,
    PRIMARY KEY (entity_id, minute, account_kind, channel, direction, currency, batch_id)
);

CREATE TABLE IF NOT EXISTS corridor_minute_rows
(
    batch_id VARCHAR NOT NULL,
    minute TIMESTAMP NOT NULL,
    account_kind VARCHAR NOT NULL,
    cp_kind VARCHAR NOT NULL,
    cp_country VARCHAR NOT NULL,
    currency VARCHAR NOT NULL,
    direction VARCHAR NOT NULL,
    events UBIGINT NOT NULL,
    amount_cny DECIMAL(38, 10) NOT NULL,
    PRIMARY KEY (minute, account_kind, cp_kind, cp_country, currency, direction, batch_id)
);

CREATE TABLE IF NOT EXISTS alert_rows
(
    alert_id VARCHAR PRIMARY KEY,
    rule VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    account VARCHAR NOT NULL,
    txn_id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    detected_at TIMESTAMP NOT NULL,
    message VARCHAR NOT NULL,
    metrics VARCHAR NOT NULL,
    refs VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS penetration_rows
(
    entity_id VARCHAR NOT NULL,
    year USMALLINT NOT NULL,
    net_inflow DECIMAL(38, 10) NOT NULL,
    inflow_cap DECIMAL(38, 10),
    outflow_cap DECIMAL(38, 10),
    inflow_utilisation DECIMAL(38, 6),
    outflow_utilisation DECIMAL(38, 6),
    updated_at TIMESTAMP NOT NULL,
    version UBIGINT NOT NULL,
    PRIMARY KEY (entity_id, year)
);

CREATE OR REPLACE VIEW payments_minute AS
SELECT entity_id, minute, CAST(minute AS DATE) AS day, account_kind, channel, direction, currency,
    sum(events) AS events, sum(amount) AS amount, sum(amount_cny) AS amount_cny
FROM payments_minute_rows
GROUP BY entity_id, minute, account_kind, channel, direction, currency;

CREATE OR REPLACE VIEW payments_hourly AS
SELECT entity_id, date_trunc('hour', minute) AS hour, CAST(minute AS DATE) AS day, account_kind, channel, direction, currency,
    sum(events) AS events, sum(amount) AS amount, sum(amount_cny) AS amount_cny
FROM payments_minute_rows
GROUP BY entity_id, date_trunc('hour', minute), CAST(minute AS DATE), account_kind, channel, direction, currency;

CREATE OR REPLACE VIEW payments_daily AS
SELECT entity_id, CAST(minute AS DATE) AS day, account_kind, channel, direction, currency,
    sum(events) AS events, sum(amount) AS amount, sum(amount_cny) AS amount_cny
FROM payments_minute_rows
GROUP BY entity_id, CAST(minute AS DATE), account_kind, channel, direction, currency;

CREATE OR REPLACE VIEW corridor_minute AS
SELECT minute, CAST(minute AS DATE) AS day, account_kind, cp_kind, cp_country, currency, direction,
    sum(events) AS events, sum(amount_cny) AS amount_cny
FROM corridor_minute_rows
GROUP BY minute, account_kind, cp_kind, cp_country, currency, direction;

CREATE OR REPLACE VIEW corridor_hourly AS
SELECT date_trunc('hour', minute) AS hour, CAST(minute AS DATE) AS day, account_kind, cp_kind, cp_country, currency, direction,
    sum(events) AS events, sum(amount_cny) AS amount_cny
FROM corridor_minute_rows
GROUP BY date_trunc('hour', minute), CAST(minute AS DATE), account_kind, cp_kind, cp_country, currency, direction;

CREATE OR REPLACE VIEW corridor_daily AS
SELECT CAST(minute AS DATE) AS day, account_kind, cp_kind, cp_country, currency, direction,
    sum(events) AS events, sum(amount_cny) AS amount_cny
FROM corridor_minute_rows
GROUP BY CAST(minute AS DATE), account_kind, cp_kind, cp_country, currency, direction;

CREATE OR REPLACE VIEW alerts AS
SELECT alert_id, rule, severity, entity_id, account, txn_id, ts, CAST(ts AS DATE) AS day, detected_at, message, metrics, refs
FROM alert_rows;

CREATE OR REPLACE VIEW penetration_positions AS
SELECT entity_id, year, net_inflow, inflow_cap, outflow_cap, inflow_utilisation, outflow_utilisation, updated_at
FROM penetration_rows;
