-- og.trusted_settlements: one row per trusted settlement (internal: a building block of the demand
-- views, not a report of its own). Every column of og.settlements, for its rows with trusted (sent
-- by a configured relayer; an untrusted settlement is never counted), and:
-- verified: an individual settlement whose TEE signature the relay checked on-chain (kind
-- 'individual' and verified_on_chain); batch items and legacy settlements are never verified.
-- This is the one place that defines both: every view that counts settlements reads this view,
-- never og.settlements. A plain filter: Postgres inlines it into each query, so readers keep their
-- index scans (settlements_trusted_day, settlements_individual_tee are partial indexes on trusted).
create or replace view og.trusted_settlements as
select s.*, s.kind = 'individual' and s.verified_on_chain as verified
from og.settlements s
where s.trusted;

comment on view og.trusted_settlements is
    'Internal (read by the demand views): og.settlements rows sent by a configured relayer '
    '(trusted), every column, and verified (individual, TEE signature checked on-chain). The one '
    'definition of a counted and of a verified settlement.';
