-- og.model_usage: one row per (model, attribution) seen on-chain, plus one row (model NULL,
-- attribution 'unattributed') carrying all inference volume that names no model.
-- Only records that name the model on-chain are attributed (same rules as og.model_inferences):
-- 'legacy_inference' (og.inferences; payers = distinct tx.from) and 'settlement_metadata'
-- (trusted legacy SettlementWithMetadata; payers NULL because no payer is on-chain) and
-- 'walrus_payload' (trusted individual settlements whose stored Walrus payload is parsed and
-- consistent with the event; payers NULL: the payload names no payer). model is the
-- normalised key (og.normalize_model). inferences_7d / _30d: rolling windows ending at the latest
-- indexed block time of the inference chain, not now(). listed: the key is in og.models (NULL for
-- the unattributed row). prompt_tokens / completion_tokens / total_tokens (+ _7d, _30d, same
-- windows): sums of the payloads' usage, walrus_payload rows only (NULL elsewhere, and when no
-- payload carried usage). Caveats: batch and private inferences carry no model, nor do individual
-- ones whose payload is missing, and are never spread over models; payments name no model, so
-- there is no per-model revenue.
create or replace view og.model_usage as
-- Volume is aggregated by raw name first (few groups, parallel scans), then the names are
-- normalised and merged; og.normalize_model never runs per row.
with by_name as (
    select
        i.model as model_raw,
        'inference' as record,
        count(*)::numeric as inferences,
        min(i.block_time) as first_seen_at,
        max(i.block_time) as last_seen_at,
        count(*) filter (where i.block_time > (select w.inference_from from og.windows w
                                                where w."window" = '7d'))::numeric
            as inferences_7d,
        count(*) filter (where i.block_time > (select w.inference_from from og.windows w
                                                where w."window" = '30d'))::numeric
            as inferences_30d,
        null::numeric as prompt_tokens, null::numeric as completion_tokens, null::numeric as total_tokens,
        null::numeric as prompt_tokens_7d, null::numeric as completion_tokens_7d,
        null::numeric as total_tokens_7d, null::numeric as prompt_tokens_30d,
        null::numeric as completion_tokens_30d, null::numeric as total_tokens_30d
    from og.inferences i
    group by i.model
    union all
    select
        coalesce(s.model, p.model_raw),
        case when p.model_raw is null then 'settlement' else 'walrus' end,
        sum(s.inferences),
        min(s.block_time),
        max(s.block_time),
        coalesce(sum(s.inferences) filter (where s.block_time > (select w.inference_from
                                           from og.windows w where w."window" = '7d')), 0),
        coalesce(sum(s.inferences) filter (where s.block_time > (select w.inference_from
                                           from og.windows w where w."window" = '30d')), 0),
        sum(p.prompt_tokens), sum(p.completion_tokens), sum(p.total_tokens),
        sum(p.prompt_tokens) filter (where s.block_time > (select w.inference_from
                                     from og.windows w where w."window" = '7d')),
        sum(p.completion_tokens) filter (where s.block_time > (select w.inference_from
                                         from og.windows w where w."window" = '7d')),
        sum(p.total_tokens) filter (where s.block_time > (select w.inference_from
                                    from og.windows w where w."window" = '7d')),
        sum(p.prompt_tokens) filter (where s.block_time > (select w.inference_from
                                     from og.windows w where w."window" = '30d')),
        sum(p.completion_tokens) filter (where s.block_time > (select w.inference_from
                                         from og.windows w where w."window" = '30d')),
        sum(p.total_tokens) filter (where s.block_time > (select w.inference_from
                                    from og.windows w where w."window" = '30d'))
    from og.trusted_settlements s
    left join og.walrus_individual p
      on p.chain_id = s.chain_id and p.block_number = s.block_number and p.log_index = s.log_index
     and p.status = 'parsed' and p.consistent
    group by 1, 2
),
volume as (
    select
        n.model,
        case when n.model is null then 'unattributed'
             when x.record = 'inference' then 'legacy_inference'
             when x.record = 'walrus' then 'walrus_payload'
             else 'settlement_metadata' end as attribution,
        sum(x.inferences) as inferences,
        min(x.first_seen_at) as first_seen_at,
        max(x.last_seen_at) as last_seen_at,
        sum(x.inferences_7d) as inferences_7d,
        sum(x.inferences_30d) as inferences_30d,
        sum(x.prompt_tokens) as prompt_tokens,
        sum(x.completion_tokens) as completion_tokens,
        sum(x.total_tokens) as total_tokens,
        sum(x.prompt_tokens_7d) as prompt_tokens_7d,
        sum(x.completion_tokens_7d) as completion_tokens_7d,
        sum(x.total_tokens_7d) as total_tokens_7d,
        sum(x.prompt_tokens_30d) as prompt_tokens_30d,
        sum(x.completion_tokens_30d) as completion_tokens_30d,
        sum(x.total_tokens_30d) as total_tokens_30d
    from by_name x
    cross join lateral (select og.normalize_model(x.model_raw) as model) n
    group by 1, 2
),
legacy_names as materialized (
    select x.model_raw, og.normalize_model(x.model_raw) as model
    from by_name x
    where x.record = 'inference' and og.normalize_model(x.model_raw) is not null
),
payers as (
    select d.model, count(*) as payers
    from (
        select distinct n.model, i.payer
        from og.inferences i
        join legacy_names n on n.model_raw = i.model
    ) d
    group by d.model
)
select
    v.model,
    v.attribution,
    v.inferences,
    case when v.attribution = 'legacy_inference' then coalesce(p.payers, 0) end as payers,
    v.first_seen_at,
    v.last_seen_at,
    v.inferences_7d,
    v.inferences_30d,
    case when v.model is not null
         then exists (select 1 from og.models c where c.model_key = v.model) end as listed,
    v.prompt_tokens,
    v.completion_tokens,
    v.total_tokens,
    v.prompt_tokens_7d,
    v.completion_tokens_7d,
    v.total_tokens_7d,
    v.prompt_tokens_30d,
    v.completion_tokens_30d,
    v.total_tokens_30d
from volume v
left join payers p on p.model = v.model and v.attribution = 'legacy_inference'
order by v.model nulls last, v.attribution;

comment on view og.model_usage is
    'One row per (model, attribution) with inferences (all time, 7d, 30d), payers where the chain '
    'names them, first/last seen, whether the model is listed, and tokens from Walrus payloads '
    '(walrus_payload rows). model NULL = unattributed volume.';
