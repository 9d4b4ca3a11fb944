"""Safeguarding: flags on the kept nominals, the safeguarding list, protection from enforcement.

METHOD section 7 (safeguarding). :mod:`clnet_spark.safeguarding.flags` holds the settings
(:class:`~clnet_spark.safeguarding.flags.SafeguardingConfig`) and the transforms;
:mod:`clnet_spark.safeguarding.stage` reads and writes the tables. ``docs/safeguarding.md``
documents every flag, the choices this implementation made and the output tables.
"""
