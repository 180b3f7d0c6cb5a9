"""execute and shell_out: Array without a shell, input, environment, user, returns, timeout, retries.

Follows docs.chef.io/resources/execute/ ("command: an Array is run without a
shell"; input since Chef 16.2; returns; timeout default 3600), docs.chef.io/resources/common/
(retries, retry_delay, ignore_failure) and lib/chef/mixin/shell_out.rb (LC_ALL=C default env).
"""


def test_array_runs_without_a_shell_string_runs_in_one(repo, tmp_path):
    repo.cookbook("e", recipes={"default": f"""
        execute 'array' do
          command ['sh', '-c', 'printf "%s" "$0" > {tmp_path}/array', '$HOME;not-expanded']
        end
        execute "echo $((1+2)) > {tmp_path}/string"
        """})
    run = repo.run("recipe[e]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "array").read_text() == "$HOME;not-expanded"
    assert (tmp_path / "string").read_text() == "3\n"


def test_input_environment_user_cwd_returns(repo, tmp_path):
    (tmp_path / "work").mkdir()
    repo.cookbook("e", recipes={"default": f"""
        execute 'stdin' do
          command ['sh', '-c', 'cat > {tmp_path}/stdin']
          input "from stdin\\n"
        end
        execute 'env' do
          command ['sh', '-c', 'echo "$APP_MODE $LC_ALL" > {tmp_path}/env']
          environment lazy {{ {{ 'APP_MODE' => 'lazy-' + node['platform'] }} }}
        end
        execute 'cwd' do
          command ['sh', '-c', 'pwd > {tmp_path}/cwd']
          cwd '{tmp_path}/work'
        end
        execute 'as nobody' do
          command ['sh', '-c', 'test "$(id -un)" = nobody']
          user 'nobody'
        end
        execute 'exit 3 is fine' do
          command ['sh', '-c', 'exit 3']
          returns [0, 3]
        end
        """})
    run = repo.run("recipe[e]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "stdin").read_text() == "from stdin\n"
    assert (tmp_path / "env").read_text() == "lazy-debian C\n"
    assert (tmp_path / "cwd").read_text().strip() == str(tmp_path / "work")


def test_failure_reports_exit_status_and_output(repo, tmp_path):
    repo.cookbook("e", recipes={"default": "\nexecute 'fails' do\n  command ['sh', '-c', 'echo out-text; echo err-text >&2; exit 4']\nend\n"})
    run = repo.run("recipe[e]")
    assert run.returncode == 1
    assert "Expected process to exit with [0], but received '4'" in run.output
    assert "out-text" in run.output and "err-text" in run.output
    assert "execute[fails] (e::default line 2) had an error: " \
           "Mixlib::ShellOut::ShellCommandFailed" in run.last_line


def test_timeout(repo, tmp_path):
    repo.cookbook("e", recipes={"default": "execute 'slow' do\n  command ['sleep', '5']\n  timeout 1\nend\n"})
    run = repo.run("recipe[e]")
    assert run.returncode == 1
    assert "CommandTimeout" in run.last_line


def test_retries_then_success_and_ignore_failure(repo, tmp_path):
    counter = tmp_path / "count"
    repo.cookbook("e", recipes={"default": f"""
        execute 'flaky' do
          command ['sh', '-c', 'echo x >> {counter}; test $(wc -l < {counter}) -ge 3']
          retries 2
          retry_delay 0
        end
        execute 'ignored' do
          command ['false']
          ignore_failure true
        end
        execute 'still runs' do
          command ['touch', '{tmp_path}/after']
        end
        """})
    run = repo.run("recipe[e]")
    assert run.returncode == 0, run.output
    assert counter.read_text().count("x") == 3
    assert "Retrying execution of execute[flaky], 2 attempt(s) left" in run.output
    assert (tmp_path / "after").exists()


def test_shell_out_in_recipes(repo, tmp_path):
    repo.cookbook("e", recipes={"default": f"""
        out = shell_out('cat', input: 'piped').stdout
        file '{tmp_path}/o' do
          content out + shell_out!('echo $X', environment: {{ 'X' => 'env' }}).stdout
        end
        shell_out!('false')
        """})
    run = repo.run("recipe[e]")
    assert run.returncode == 1
    assert "Mixlib::ShellOut::ShellCommandFailed" in run.last_line and "e/recipes/default.rb:6" in run.last_line
    assert not (tmp_path / "o").exists()     # compile failed before any converge
