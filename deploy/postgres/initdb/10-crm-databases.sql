-- One database and one login role per Kehu CRM service (docker compose, DEV
-- passwords). Runs once, when the postgres volume is empty. Production creates
-- the same with passwords from Secrets (docs/operations.md).
-- Keep in sync with services/contract SERVICES (tests/deploy checks it).
CREATE ROLE customers LOGIN PASSWORD 'customers-dev';
CREATE DATABASE customers OWNER customers;
CREATE ROLE sales LOGIN PASSWORD 'sales-dev';
CREATE DATABASE sales OWNER sales;
CREATE ROLE service_desk LOGIN PASSWORD 'service_desk-dev';
CREATE DATABASE service_desk OWNER service_desk;
CREATE ROLE marketing LOGIN PASSWORD 'marketing-dev';
CREATE DATABASE marketing OWNER marketing;
CREATE ROLE reporting LOGIN PASSWORD 'reporting-dev';
CREATE DATABASE reporting OWNER reporting;
-- nobody but the owner connects to a service database
REVOKE CONNECT ON DATABASE customers, sales, service_desk, marketing, reporting FROM PUBLIC;
