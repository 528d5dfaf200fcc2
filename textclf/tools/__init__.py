"""Tools around training: ``init`` (:mod:`.init_config`), ``check-data`` (:mod:`.check_data`), ``datasets``
(:mod:`.downloads`) and ``env`` (:mod:`.env`). None of them imports TensorFlow, except ``env`` to list devices."""
