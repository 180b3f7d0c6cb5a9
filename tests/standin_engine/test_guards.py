"""Guards: only_if / not_if as a shell command (exit status, options) or a block (truthiness).

Follows docs.chef.io/resources/common/ (Guards: "a string is executed as a shell
command... if the command returns 0, the guard is applied"; guard attributes
such as user, cwd, environment; several guards must all pass) and
lib/chef/resource/conditional.rb.
"""


def test_guard_forms(repo, tmp_path):
    repo.cookbook("g", recipes={"default": f"""
        def mark(name, &guards)
          execute name do
            command ['touch', "{tmp_path}/#{{name}}"]
            instance_eval(&guards)
          end
        end
        mark('string only_if true') {{ only_if 'test 1 -eq 1' }}
        mark('string only_if false') {{ only_if 'exit 3' }}
        mark('string not_if true') {{ not_if 'true' }}
        mark('string not_if false') {{ not_if 'false' }}
        mark('block only_if nil') {{ only_if {{ nil }} }}
        mark('block only_if value') {{ only_if {{ 'anything' }} }}
        mark('block not_if false') {{ not_if {{ false }} }}
        mark('all must pass') {{ only_if 'true'; only_if {{ false }} }}
        mark('all pass') {{ only_if 'true'; not_if {{ false }}; only_if {{ 1 }} }}
        mark('guard env') {{ only_if 'test "$GUARD_VAR" = yes', environment: {{ 'GUARD_VAR' => 'yes' }} }}
        mark('guard cwd') {{ only_if 'test -f marker', cwd: '{tmp_path}/sub' }}
        mark('guard user') {{ only_if 'test "$(id -un)" = nobody', user: 'nobody' }}
        """})
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "marker").write_text("")
    run = repo.run("recipe[g]")
    assert run.returncode == 0, run.output
    ran = {p.name for p in tmp_path.iterdir() if p.is_file() and " " in p.name}
    assert ran == {"string only_if true", "string not_if false", "block only_if value", "block not_if false",
                   "all pass", "guard env", "guard cwd", "guard user"}
    assert "* execute[string only_if false] action run (skipped due to only_if)" in run.output
    assert "* execute[string not_if true] action run (skipped due to not_if)" in run.output


def test_guards_are_evaluated_at_converge_time_not_compile_time(repo, tmp_path):
    repo.cookbook("g", recipes={"default": f"""
        file '{tmp_path}/flag' do
          content 'set during converge'
        end
        execute 'guarded by the flag' do
          command ['touch', '{tmp_path}/ran']
          only_if {{ ::File.exist?('{tmp_path}/flag') }}
        end
        """})
    run = repo.run("recipe[g]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "ran").exists()


def test_a_guard_with_both_a_command_and_a_block_is_an_error(repo, tmp_path):
    repo.cookbook("g", recipes={"default": """
        execute 'x' do
          command ['true']
          only_if('true') { true }
        end
        """})
    run = repo.run("recipe[g]")
    assert run.returncode == 1
    assert "only_if takes either a command or a block, not both" in run.last_line
    assert "g/recipes/default.rb:4" in run.last_line
