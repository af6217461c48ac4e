-- og.proof_availability: one row per UTC day and settlement kind (batch | individual) with a
-- trusted current-relay settlement.
-- settlements: trusted settlements; blobs_fetched: their Walrus payload is stored (possibly cut at
-- the size cap); missing: 404 after the retries (expired after ~20 weeks, or never stored);
-- consistent / mismatched / unparseable: what the stored payload says (og.settlement_proofs);
-- unavailable: refused for good (403 too large, 451 blocked); not_fetched: not asked yet, or
-- failed for now (asked again by the next enrich) or stored but not parsed yet.
-- retrievable_consistent_share = consistent / settlements. Caveat: a missing payload is not proof
-- of a fake settlement: old blobs expire, and recent ones may sit behind a cached 404.
create or replace view og.proof_availability as
select
    p.day,
    p.kind,
    count(*) as settlements,
    count(*) filter (where p.blob_status in ('fetched', 'truncated')) as blobs_fetched,
    count(*) filter (where p.proof_status = 'missing') as missing,
    count(*) filter (where p.proof_status = 'consistent') as consistent,
    count(*) filter (where p.proof_status = 'mismatched') as mismatched,
    count(*) filter (where p.proof_status = 'unparseable') as unparseable,
    count(*) filter (where p.proof_status = 'unavailable') as unavailable,
    count(*) filter (where p.proof_status in ('not_fetched', 'not_parsed', 'no_blob_id')) as not_fetched,
    (count(*) filter (where p.proof_status = 'consistent'))::numeric / count(*) as retrievable_consistent_share
from og.settlement_proofs p
group by p.day, p.kind
order by p.day, p.kind;

comment on view og.proof_availability is
    'One row per UTC day and settlement kind: trusted settlements, Walrus payloads fetched, missing, '
    'consistent, mismatched, unparseable, unavailable, not fetched, and the share retrievable and '
    'consistent.';
