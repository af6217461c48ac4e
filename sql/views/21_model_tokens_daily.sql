-- og.model_tokens_daily: one row per UTC day and normalised model with an inference attributed
-- through a Walrus payload (og.model_inferences attribution 'walrus_payload': trusted individual
-- settlements whose stored payload is parsed and consistent).
-- inferences: those settlements; with_usage: how many of them carried token usage;
-- prompt_tokens / completion_tokens / total_tokens: sums over those (NULL when none carried usage).
-- Caveat: batch and private inferences name no model anywhere and are not here; neither are
-- individual ones whose payload is missing or inconsistent (see og.proof_availability).
create or replace view og.model_tokens_daily as
select
    (m.block_time at time zone 'UTC')::date as day,
    m.model,
    sum(m.inferences) as inferences,
    count(*) filter (where m.prompt_tokens is not null or m.completion_tokens is not null
                     or m.total_tokens is not null) as with_usage,
    sum(m.prompt_tokens) as prompt_tokens,
    sum(m.completion_tokens) as completion_tokens,
    sum(m.total_tokens) as total_tokens
from og.model_inferences m
where m.attribution = 'walrus_payload'
group by 1, 2
order by 1, 2;

comment on view og.model_tokens_daily is
    'One row per UTC day and model named by a consistent Walrus payload: inferences, how many '
    'carried usage, and prompt / completion / total tokens.';
