import json

import pytest

from deployer.chef.environment_template import (
    EnvironmentTemplateError, EnvironmentTemplates, UnfilledPlaceholders, environment_name, fill,
    placeholders)

ORIGIN = {  # the origin document's environment excerpt
    "default_attributes": {
        "orchestration": {"debug": "ENABLE_DEBUG",
                          "identity_service_chef_role": "os-identity",
                          "rabbit_server_chef_role": "os-ops-messaging"},
        "network": {"service_type": "NETWORK_TYPE", "network_manager": "NETWORK_MANAGER"},
    }
}


def test_origin_placeholders_found_and_plain_values_left_alone():
    found = placeholders(ORIGIN)
    assert set(found) == {"ENABLE_DEBUG", "NETWORK_TYPE", "NETWORK_MANAGER"}
    assert found["ENABLE_DEBUG"] == ["$.default_attributes.orchestration.debug"]


def test_fill_replaces_whole_values_keeping_types_and_embedded_as_text():
    doc = {"a": "ENABLE_DEBUG", "b": ["VIP_ADDR", "http://${VIP_ADDR}:5000/v3"],
           "c": {"count": "WORKER_COUNT", "mixed": "${WORKER_COUNT} workers"}, "keep": "os-identity",
           "n": 3, "ALL_CAPS_KEY_STAYS": True}
    out = fill(doc, {"ENABLE_DEBUG": "true", "VIP_ADDR": "10.0.0.5", "WORKER_COUNT": 4})
    assert out == {"a": "true", "b": ["10.0.0.5", "http://10.0.0.5:5000/v3"],
                   "c": {"count": 4, "mixed": "4 workers"}, "keep": "os-identity", "n": 3,
                   "ALL_CAPS_KEY_STAYS": True}
    assert doc["a"] == "ENABLE_DEBUG"  # the template itself is untouched


def test_unfilled_placeholder_names_each_missing_one_and_where():
    with pytest.raises(UnfilledPlaceholders) as info:
        fill(ORIGIN, {"ENABLE_DEBUG": "false"})
    assert set(info.value.missing) == {"NETWORK_TYPE", "NETWORK_MANAGER"}
    assert "NETWORK_MANAGER (at $.default_attributes.network.network_manager)" in str(info.value)


def test_words_without_underscore_are_not_placeholders():
    assert placeholders({"level": "INFO", "mode": "ALL", "x": "Some_Mixed"}) == {}


def test_render_sets_name_and_chef_fields(tmp_path):
    (tmp_path / "site.json").write_text(json.dumps(ORIGIN))
    templates = EnvironmentTemplates(tmp_path)
    env = templates.render("site", "stack-1", {"ENABLE_DEBUG": "false", "NETWORK_TYPE": "nova",
                                              "NETWORK_MANAGER": "nova.network.manager.VlanManager"})
    assert env["name"] == "stack-1" and env["json_class"] == "Chef::Environment"
    assert env["default_attributes"]["network"]["network_manager"].endswith("VlanManager")
    assert env["override_attributes"] == {} and env["cookbook_versions"] == {}


@pytest.mark.parametrize("template,message", [
    ("missing", "no Chef environment template named 'missing'"),
    ("../etc/passwd", "invalid environment template name"),
    ("broken", "invalid JSON"),
])
def test_render_rejects_bad_templates(tmp_path, template, message):
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(EnvironmentTemplateError, match=message.replace("(", r"\(")):
        EnvironmentTemplates(tmp_path).render(template, "x", {})


def test_environment_name_is_chef_safe():
    assert environment_name("my stack/01") == "my-stack-01"
    with pytest.raises(EnvironmentTemplateError):
        environment_name("///")
