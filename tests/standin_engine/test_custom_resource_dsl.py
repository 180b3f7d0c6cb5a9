"""Custom resource DSL: provides, property options, actions, action_class, lazy.

Follows docs.chef.io/custom_resources/ and /custom_resource_glossary/ (property:
name_property, required incl. a list of actions, default incl. lazy, regex,
equal_to, callbacks, sensitive; action_class; new_resource) and Chef's
lib/chef/property.rb (lazy values are evaluated in the resource when read;
non-lazy defaults are frozen) and lib/chef/resource/lwrp_base.rb (the
file-derived name <cookbook>_<file> also resolves).
"""

RESOURCE = """
unified_mode true
provides :note
description 'writes a note'

property :path, String, name_property: true, description: 'where'
property :body, String, default: lazy { "default body for #{path}" }
property :size, Integer, default: 1, callbacks: { 'must be positive' => ->(v) { v.positive? } }
property :kind, String, equal_to: %w(plain fancy), default: 'plain'
property :tag, String, regex: /\\A[a-z]+\\z/
property :secret, String, sensitive: true
property :owner_required, String, required: [:chown]

action :create do
  file new_resource.path do
    content decorate(new_resource.body)
  end
end

action :chown do
  file new_resource.path do
    owner new_resource.owner_required
  end
end

action_class do
  def decorate(text)
    new_resource.kind == 'fancy' ? "** #{text} **" : text
  end
end
"""


def _cookbook(repo, recipe):
    repo.cookbook("c", resources={"note": RESOURCE}, recipes={"default": recipe})


def test_properties_defaults_lazy_and_action_class(repo, tmp_path):
    _cookbook(repo, f"""
        note '{tmp_path}/one'
        note 'two' do
          path '{tmp_path}/two'
          body lazy {{ "lazy #{{node['platform']}}" }}
          kind 'fancy'
        end
        c_note '{tmp_path}/three' do
          body 'by the file-derived name'
        end
        """)
    run = repo.run("recipe[c]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "one").read_text() == f"default body for {tmp_path}/one"
    assert (tmp_path / "two").read_text() == "** lazy debian **"
    assert (tmp_path / "three").read_text() == "by the file-derived name"


def test_lazy_values_are_computed_at_converge_time(repo, tmp_path):
    _cookbook(repo, f"""
        ruby_block 'produce' do
          block {{ ::File.write('{tmp_path}/source', 'made at converge') }}
        end
        file '{tmp_path}/copy' do
          content lazy {{ ::File.read('{tmp_path}/source') }}
        end
        """)
    run = repo.run("recipe[c]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "copy").read_text() == "made at converge"


def _fails_with(repo, tmp_path, recipe, message, line):
    _cookbook(repo, recipe)
    run = repo.run("recipe[c]")
    assert run.returncode == 1, run.output
    assert message in run.output, run.output
    assert f"c/recipes/default.rb:{line}" in run.last_line, run.last_line
    return run


def test_type_regex_equal_to_and_callbacks_are_validated(repo, tmp_path):
    _fails_with(repo, tmp_path, "\nnote 'x' do\n  size 'big'\nend\n",
                "Property size must be one of: Integer!  You passed \"big\".", 3)


def test_equal_to(repo, tmp_path):
    _fails_with(repo, tmp_path, "\nnote 'x' do\n  kind 'odd'\nend\n",
                'Option kind must be equal to one of: "plain", "fancy"!  You passed "odd".', 3)


def test_regex(repo, tmp_path):
    _fails_with(repo, tmp_path, "\nnote 'x' do\n  tag 'UPPER'\nend\n",
                "Property tag's value \"UPPER\" does not match regular expression /\\A[a-z]+\\z/", 3)


def test_callbacks(repo, tmp_path):
    _fails_with(repo, tmp_path, "\nnote 'x' do\n  size -1\nend\n", "Property size's value -1 must be positive!", 3)


def test_sensitive_property_value_is_never_shown(repo, tmp_path):
    run = _fails_with(repo, tmp_path, "\nnote 'x' do\n  secret 123\nend\n",
                      "Property secret must be one of: String!  You passed *sensitive value suppressed*.", 3)
    assert "123" not in run.output


def test_required_for_one_action_only(repo, tmp_path):
    _cookbook(repo, f"""
        note '{tmp_path}/fine'
        note '{tmp_path}/needs owner' do
          action :chown
        end
        """)
    run = repo.run("recipe[c]")
    assert run.returncode == 1
    assert (tmp_path / "fine").exists()
    assert "owner_required is a required property" in run.last_line
    assert "note[" in run.last_line and "(c::default line 3)" in run.last_line


def test_unknown_property_action_and_name_property_with_default(repo, tmp_path):
    _cookbook(repo, "\nnote 'x' do\n  colour 'red'\nend\n")
    run = repo.run("recipe[c]")
    assert run.returncode == 1
    assert "No resource property or method named `colour' for note[x]" in run.last_line
    assert "c/recipes/default.rb:3" in run.last_line

    _cookbook(repo, "\nnote 'x' do\n  action :explode\nend\n")
    run = repo.run("recipe[c]")
    assert run.returncode == 1
    assert "Option action must be equal to one of: nothing, create, chown!  You passed :explode." in run.last_line

    run = _refused(repo, resources={"bad": "provides :bad\nproperty :x, String, name_property: true, default: 'y'\n"},
                   recipes={"default": "bad 'x'\n"})
    assert "cannot be both a name_property/name_attribute and have a default value" in run.last_line
    assert "c/resources/bad.rb:2" in run.last_line


def _refused(repo, **cookbook):
    """The run of cookbook c (its resources and recipes), which must fail."""
    repo.cookbook("c", **cookbook)
    run = repo.run("recipe[c]")
    assert run.returncode == 1, run.output
    return run


def test_resource_partials_are_used_not_loaded(repo, tmp_path):
    """Chef's `use 'partial/_name'` (lib/chef/resource.rb): the fragment is evaluated into the
    resource class, relative to the calling file, the leading _ optional; files starting with _
    are never loaded as resources (cookbook_compiler's load_lwrps_from_cookbook), nested
    resource files are."""
    partial = """
        property :owner_name, String, default: 'root'
        action_class do
          def stamp(text)
            "#{new_resource.owner_name}: #{text}"
          end
        end
        """
    repo.cookbook("c", resources={
        "partial/_common": partial,
        "one": "provides :one\nuse 'partial/_common'\nproperty :path, String, name_property: true\n"
               "action :create do\n  file new_resource.path do\n    content stamp('one')\n  end\nend\n",
        "nested/two": "provides :two\nuse '../partial/common'\nproperty :path, String, name_property: true\n"
                      "action :create do\n  file new_resource.path do\n    content stamp('two')\n  end\nend\n"},
        recipes={"default": f"one '{tmp_path}/one' do\n  owner_name 'ops'\nend\ntwo '{tmp_path}/two'\n"})
    run = repo.run("recipe[c]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "one").read_text() == "ops: one"
    assert (tmp_path / "two").read_text() == "root: two"

    repo.cookbook("c", recipes={"default": f"c__common '{tmp_path}/x'\n"})
    run = repo.run("recipe[c]")
    assert run.returncode == 1
    assert "c__common" in run.last_line

    run = _refused(repo, resources={"three": "provides :three\nuse 'partial/missing'\n"},
                   recipes={"default": "log 'x'\n"})
    assert "use \"partial/missing\": no partial" in run.output and "_missing.rb" in run.output
