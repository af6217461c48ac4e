-- og.model_inferences: one row per on-chain inference record, with the model it names if any.
-- Sources: every og.inferences row (legacy precompile/hub/workflow path; payer = tx.from) and every
-- og.trusted_settlements row (a batch row stands for batch_size inferences: see `inferences`).
-- attribution: 'legacy_inference' (og.inferences naming a model), 'settlement_metadata' (legacy
-- SettlementWithMetadata.modelInfo; no payer on-chain), 'walrus_payload' (an individual settlement
-- whose Walrus payload is stored, parsed and consistent with the event: og.walrus_individual; no
-- payer in it), 'unattributed' (no model known: batch settlements, individual settlements whose
-- payload is missing, unparseable or inconsistent, legacy Settlement/BatchSettlement, hub/workflow
-- results). model is og.normalize_model(raw name), NULL exactly when attribution = 'unattributed'.
-- prompt_tokens / completion_tokens / total_tokens: the payload's usage (walrus_payload rows only;
-- NULL when the payload carries none).
-- Caveat: nothing names the model of a batch or private inference; the unattributed volume is
-- never spread over models. Private-mode inferences leave no row at all.
create or replace view og.model_inferences as
select
    i.chain_id,
    i.block_number,
    i.log_index,
    i.tx_hash,
    i.block_time,
    'inference'::text as record,
    i.source,
    n.model,
    i.model as model_raw,
    case when n.model is null then 'unattributed' else 'legacy_inference' end as attribution,
    i.payer,
    1::numeric as inferences,
    i.mode_name,
    null::bigint as prompt_tokens,
    null::bigint as completion_tokens,
    null::bigint as total_tokens
from og.inferences i
cross join lateral (select og.normalize_model(i.model) as model) n
union all
select
    s.chain_id,
    s.block_number,
    s.log_index,
    s.tx_hash,
    s.block_time,
    'settlement'::text as record,
    s.kind as source,
    n.model,
    coalesce(s.model, w.model_raw) as model_raw,
    case when n.model is null then 'unattributed'
         when s.model is not null then 'settlement_metadata'
         else 'walrus_payload' end as attribution,
    null::text as payer,
    s.inferences::numeric as inferences,
    null::text as mode_name,
    w.prompt_tokens,
    w.completion_tokens,
    w.total_tokens
from og.trusted_settlements s
left join og.walrus_individual w
  on w.chain_id = s.chain_id and w.block_number = s.block_number and w.log_index = s.log_index
 and w.status = 'parsed' and w.consistent
cross join lateral (select og.normalize_model(coalesce(s.model, w.model_raw)) as model) n;

comment on view og.model_inferences is
    'One row per on-chain inference record (legacy inference or trusted settlement) with the '
    'normalised model it names, its attribution source (legacy_inference, settlement_metadata, '
    'walrus_payload, unattributed), on the legacy path only the payer, and the payload''s tokens.';
