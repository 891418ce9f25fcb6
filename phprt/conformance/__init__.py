"""The conformance suite as a product: ``python -m phprt.conformance`` (CONF-SUITE-1).

The case corpus (spec/cases/*.toml) and PHP 8.2's recorded observations of it
(spec/recorded/*.json) are run against an implementation under test chosen by an
adapter: phprt itself, a PHP binary, or any command that speaks the adapter
interface (CONF-SUITE-ADAPTER-1). Modules: ``cases`` (loading, digests, recordings),
``library`` (the handler library), ``render`` (a case as PHP and as Python),
``normalise`` (observations made comparable), ``run_php`` and ``servers`` (real
PHP), ``run_phprt`` (phprt in-process), ``run_command`` (the adapter interface),
``report`` (pass rates and diffs). Standard library only.
"""
