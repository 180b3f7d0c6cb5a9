"""Prints, as JSON, the options the given oslo.config namespaces define: run by
Debian's own Python (/usr/bin/python3), where the OpenStack packages register
their namespaces (the entry points oslo-config-validator loads), never by the
deployer's virtualenv, which has none of them.

    /usr/bin/python3 option_schema.py NAMESPACE... > {"group": {"name": {...}}}

Each option: ``deprecated_for_removal`` with its reason, and its
``deprecated_names`` ([group, name] pairs it still answers to).  Under the key
``__auth_type__``: the options keystoneauth adds to a group that sets
``auth_type`` (per plugin, plus the session's and the adapter's), which no
namespace lists because they exist only once the plugin is loaded.
"""
import json
import sys

from oslo_config import generator


def main(namespaces):
    schema = {}
    for _namespace, groups in generator._list_opts(namespaces):
        for group, opts in groups:
            name = getattr(group, "name", group) or "DEFAULT"
            for opt in opts:
                schema.setdefault(name, {})[opt.dest] = {
                    "name": opt.name,
                    "deprecated_for_removal": bool(opt.deprecated_for_removal),
                    "reason": opt.deprecated_reason or "",
                    "deprecated_names": [[d.group or name, (d.name or opt.name).replace("-", "_")]
                                         for d in opt.deprecated_opts],
                }
    schema["__auth_type__"] = auth_options()
    json.dump(schema, sys.stdout)


def auth_options():
    from keystoneauth1 import loading
    common = [o.dest for o in (*loading.get_session_conf_options(),
                               *loading.get_adapter_conf_options(include_deprecated=False))]
    found = {}
    for plugin in loading.get_available_plugin_names():
        try:
            own = loading.get_auth_plugin_conf_options(plugin)
        except Exception:       # a plugin whose own dependencies are missing
            continue
        found[plugin] = sorted({"auth_type", "auth_section", *common, *(o.dest for o in own)})
    return found


if __name__ == "__main__":
    main(sys.argv[1:])
