"""Load order, include_recipe, compile then converge, why-run and re-runs.

Follows Chef's lib/chef/run_context/cookbook_compiler.rb (libraries of all
cookbooks, then attributes with default.rb first, then custom resources, then
recipes; include_recipe loads a recipe once), docs.chef.io/chef_client_overview/
(compile phase, then execute phase), docs.chef.io/ctl_chef_client/ (-W
why-run: what would change, nothing changed; node not saved) and
lib/chef/node.rb (save skipped in why-run).
"""


def test_load_order_and_include_recipe_once(repo, tmp_path):
    trace = tmp_path / "trace"
    repo.cookbook("base", libraries={"lib": f"::File.write('{trace}', \"lib-base\\n\", mode: 'a')\n"},
                  attributes={"zz": f"::File.write('{trace}', \"attr-base-zz\\n\", mode: 'a')\n",
                              "default": f"::File.write('{trace}', \"attr-base-default\\n\", mode: 'a')\n"},
                  resources={"r": f"::File.write('{trace}', \"resource-base\\n\", mode: 'a')\nprovides :base_r\n"},
                  recipes={"default": f"::File.write('{trace}', \"recipe-base\\n\", mode: 'a')\n"})
    repo.cookbook("app", depends=("base",),
                  libraries={"lib": f"::File.write('{trace}', \"lib-app\\n\", mode: 'a')\n"},
                  attributes={"default": f"::File.write('{trace}', \"attr-app\\n\", mode: 'a')\n"},
                  recipes={"default": f"""
        include_recipe 'base'
        include_recipe 'base::default'
        include_recipe 'app::other'
        ::File.write('{trace}', "recipe-app\\n", mode: 'a')
        """, "other": f"::File.write('{trace}', \"recipe-app-other\\n\", mode: 'a')\ninclude_recipe 'app'\n"})
    run = repo.run("recipe[app]", "recipe[base]")
    assert run.returncode == 0, run.output
    assert trace.read_text().split() == [
        "lib-base", "lib-app", "attr-base-default", "attr-base-zz", "attr-app", "resource-base",
        "recipe-base", "recipe-app-other", "recipe-app"]


def test_compile_phase_runs_before_any_resource(repo, tmp_path):
    repo.cookbook("c", recipes={"default": f"""
        file '{tmp_path}/made' do
          content 'x'
        end
        compile_saw = ::File.exist?('{tmp_path}/made')
        file '{tmp_path}/compile_saw' do
          content compile_saw.to_s
        end
        """})
    run = repo.run("recipe[c]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "compile_saw").read_text() == "false"


def test_second_run_reports_nothing_updated(repo, tmp_path):
    repo.cookbook("c", templates={"t.erb": "<%= @v %>\n"}, recipes={"default": f"""
        directory '{tmp_path}/d'
        file '{tmp_path}/d/f' do
          content 'x'
          mode '0600'
        end
        template '{tmp_path}/d/t' do
          source 't.erb'
          variables(v: 1)
        end
        execute 'once' do
          command ['touch', '{tmp_path}/d/once']
          creates '{tmp_path}/d/once'
        end
        """})
    first = repo.run("recipe[c]")
    assert first.returncode == 0, first.output
    assert first.updated() == (4, 4)
    second = repo.run("recipe[c]")
    assert second.returncode == 0, second.output
    assert second.updated() == (0, 4)
    assert second.output.count("(up to date)") == 4


def test_why_run_changes_nothing_and_says_what_it_would_do(repo, tmp_path):
    existing = tmp_path / "existing"
    existing.write_text("old\n")
    repo.cookbook("c", recipes={"default": f"""
        directory '{tmp_path}/new_dir'
        file '{tmp_path}/new_dir/f' do
          content 'x'
        end
        file '{existing}' do
          content "new\\n"
          notifies :run, 'execute[notified]', :immediately
        end
        execute 'notified' do
          command ['touch', '{tmp_path}/notified']
          action :nothing
        end
        ruby_block 'side effect' do
          block {{ ::File.write('{tmp_path}/block', 'ran') }}
        end
        """})
    run = repo.run("recipe[c]", args=["-W"])
    assert run.returncode == 0, run.output
    assert not (tmp_path / "new_dir").exists()
    assert existing.read_text() == "old\n"
    assert not (tmp_path / "notified").exists() and not (tmp_path / "block").exists()
    assert f"- Would create new directory {tmp_path}/new_dir" in run.output
    assert f"- Would create new file {tmp_path}/new_dir/f" in run.output
    assert "- Would execute the ruby block side effect" in run.output
    assert "* execute[notified] action run" in run.output        # notifications are followed in why-run
    assert "resources would have been updated" in run.output
    assert run.node is None                                      # why-run saves no node


def test_why_run_of_a_changed_file_prints_chefs_lines_and_diff_and_writes_nothing_beside_it(repo, tmp_path):
    """Chef's doc formatter in why-run: "- Would <change>" lines, the diff below them unmarked
    and indented two more, a sensitive file's diff suppressed; the target's directory is
    left as it was (the diff is staged elsewhere); a notified service would restart."""
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    (conf_dir / "a.conf").write_text("debug = False\nkeep = 1\n")
    (conf_dir / "secret.conf").write_text("password = old\n")
    repo.cookbook("c", recipes={"default": f"""
        file '{conf_dir}/a.conf' do
          content "debug = True\\nkeep = 1\\n"
          notifies :run, 'execute[restart-ish]', :delayed
        end
        file '{conf_dir}/secret.conf' do
          content "password = new\\n"
          sensitive true
        end
        execute 'restart-ish' do
          command ['touch', '{tmp_path}/ran']
          action :nothing
        end
        """})
    before = {path.name: path.read_bytes() for path in conf_dir.iterdir()}
    run = repo.run("recipe[c]", args=["-W"])
    assert run.returncode == 0, run.output
    assert {path.name: path.read_bytes() for path in conf_dir.iterdir()} == before
    assert not (tmp_path / "ran").exists()
    lines = run.output.splitlines()
    start = lines.index(f"  * file[{conf_dir}/a.conf] action create")
    assert lines[start + 1].startswith(f"    - Would update content in file {conf_dir}/a.conf from ")
    assert lines[start + 2:start + 4] == [f"      --- {conf_dir}/a.conf", "      +++ new content"]
    assert "      -debug = False" in lines and "      +debug = True" in lines
    assert "    - Would suppressed sensitive resource" in lines          # Chef prints it so
    assert "password" not in run.output
    assert "  * execute[restart-ish] action run" in lines
    assert f'    - Would execute ["touch", "{tmp_path}/ran"]' in lines
    assert run.updated() == (3, 3)

