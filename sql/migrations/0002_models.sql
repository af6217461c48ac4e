-- The model catalog (what OpenGradient lists) and the one name normalisation every view joins on.
-- Rows come from indexer/data/ (indexer.catalog.seed) and from `og-indexer catalog import`.

-- Normalised model key: trimmed, provider prefix dropped (everything up to the last '/'), and lower
-- case, so 'openai/gpt-4.1-2025-04-14', 'gpt-4.1-2025-04-14' and 'GPT-4.1-2025-04-14' are one key.
-- Content ids (IPFS CIDv0 'Qm' + 44 base58 characters, the ONNX model ids) are case-sensitive and keep
-- their case. NULL for NULL or blank names. indexer.catalog.normalize_model is the Python mirror.
-- Changing this body changes og.models.model_key only for rows written afterwards: a migration that
-- redefines it must also `update og.models set model = model` to recompute the stored keys.
create or replace function og.normalize_model(name text) returns text
    language sql immutable strict parallel safe
as $$
    select nullif(case
        when regexp_replace(btrim(name, E' \t\r\n'), '^.*/', '') ~ '^Qm[1-9A-HJ-NP-Za-km-z]{44}$'
            then regexp_replace(btrim(name, E' \t\r\n'), '^.*/', '')
        else lower(regexp_replace(btrim(name, E' \t\r\n'), '^.*/', ''))
    end, '')
$$;

comment on function og.normalize_model(text) is
    'Model name -> join key: trimmed, provider prefix (up to the last /) removed, lower case except '
    'CIDv0 content ids; NULL if blank.';

-- One row per listed model (per normalised key). kind: llm | onnx | workflow | other.
-- listed_at is when the source says the model was listed (NULL: the source does not say).
create table og.models (
    model      text        not null,
    model_key  text        generated always as (og.normalize_model(model)) stored primary key,
    kind       text        not null check (kind in ('llm', 'onnx', 'workflow', 'other')),
    listed_at  timestamptz,
    source     text        not null check (source <> ''),
    loaded_at  timestamptz not null default now()
);

comment on table og.models is
    'Models OpenGradient lists (SDK TEE_LLM enum, Model Hub / ONNX imports); one row per '
    'og.normalize_model key.';
