"""Strictness: what Chef rejects is an error naming it and the cookbook file and line;
what the stand-in lacks is an error saying so, never a silent no-op.

Follows Chef's lib/chef/dsl/method_missing.rb / resource_builder (No resource or
method named `x' for `Chef::Recipe "default"'), lib/chef/resource.rb (action
validation) and docs.chef.io/resources/ (the built-in resources the stand-in
does not implement must not pass silently).
"""
import pytest

CASES = [
    ("unknown resource", "\nfrobnicate 'x'\n",
     "No resource or method named `frobnicate' for `Chef::Recipe \"default\"'", 2),
    ("unknown property", "\nfile '/tmp/x' do\n  colour 'red'\nend\n",
     "No resource property or method named `colour' for file[/tmp/x]", 3),
    ("unknown action", "\nfile '/tmp/x' do\n  action :explode\nend\n",
     "Option action must be equal to one of: nothing, create, delete, touch, create_if_missing!  You passed :explode.", 3),
    ("unimplemented resource", "\nuser 'bob'\n", "the Chef resource `user' is not implemented by the chef-client STAND-IN", 2),
    ("unimplemented DSL method", "\nsearch(:node, 'role:x')\n",
     "the Chef DSL method `search' is not implemented by the chef-client STAND-IN", 2),
    ("unimplemented property", "\nexecute 'x' do\n  guard_interpreter :bash\nend\n",
     "guard_interpreter :bash is not implemented by the chef-client STAND-IN", 3),
    ("wrong property type", "\nfile '/tmp/x' do\n  mode 0.5\nend\n",
     "Property mode must be one of: String, Integer!  You passed 0.5.", 3),
    ("missing recipe", "\ninclude_recipe 's::nope'\n", "could not find recipe nope for cookbook s", 2),
    ("undeclared cookbook", "\ninclude_recipe 'elsewhere'\n", "Cookbook elsewhere not found", 2),
]


@pytest.mark.parametrize("recipe, message, line", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_strict_errors_name_the_problem_and_where(repo, recipe, message, line):
    repo.cookbook("s", recipes={"default": recipe})
    run = repo.run("recipe[s]")
    assert run.returncode == 1, run.output
    assert message in run.output, run.output
    assert f"s/recipes/default.rb:{line}" in run.last_line, run.last_line
    assert "Chef Infra Client failed. 0 resources updated" in run.output


def test_unimplemented_cookbook_segment_fails(repo, tmp_path):
    base = repo.cookbook("s", recipes={"default": "log 'x'\n"})
    (base / "definitions").mkdir()
    (base / "definitions" / "old.rb").write_text("define :old do\nend\n")
    run = repo.run("recipe[s]")
    assert run.returncode == 1
    assert "definitions/ in cookbook s (LWRP providers and definitions) is not implemented" in run.last_line


def test_run_list_errors(repo):
    run = repo.run("role[missing]")
    assert run.returncode == 1
    assert "Role not found: role[missing]" in run.last_line
    run = repo.run("recipe[absent]")
    assert run.returncode == 1
    assert "Missing Cookbooks: absent" in run.output
