"""Notifications: immediate, delayed (queued once, run at the end, also on failure), subscribes.

Follows docs.chef.io/resources/common/ (Notifications: notifies, subscribes, timers) and
Chef's lib/chef/runner.rb (converge: "Running queued delayed notifications before
re-raising exception") and lib/chef/run_context.rb (add_delayed_action de-duplication).
"""

def test_delayed_notifications_run_once_per_action_at_the_end_in_queue_order(repo, tmp_path):
    log = tmp_path / "order.log"
    repo.cookbook("n", recipes={"default": f"""
        file '{tmp_path}/a' do
          content 'a'
          notifies :run, 'execute[second]', :delayed
          notifies :run, 'execute[first]', :delayed
        end
        file '{tmp_path}/b' do
          content 'b'
          notifies :run, 'execute[second]', :delayed   # same target and action: queued once
        end
        execute 'main' do
          command ['sh', '-c', 'echo main >> {log}']
        end
        %w(first second).each do |n|
          execute n do
            command ['sh', '-c', "echo #{{n}} >> {log}"]
            action :nothing
          end
        end
        """})
    run = repo.run("recipe[n]")
    assert run.returncode == 0, run.output
    assert log.read_text().split() == ["main", "second", "first"]
    assert run.output.count("execute[second] action run\n") == 1


def test_immediate_notification_runs_right_after_the_notifying_resource(repo, tmp_path):
    log = tmp_path / "order.log"
    repo.cookbook("n", recipes={"default": f"""
        execute 'target' do
          command ['sh', '-c', 'echo target >> {log}']
          action :nothing
        end
        file '{tmp_path}/a' do
          content 'a'
          notifies :run, 'execute[target]', :immediately
        end
        execute 'after' do
          command ['sh', '-c', 'echo after >> {log}']
        end
        """})
    run = repo.run("recipe[n]")
    assert run.returncode == 0, run.output
    assert log.read_text().split() == ["target", "after"]


def test_no_notification_when_the_resource_is_up_to_date(repo, tmp_path):
    (tmp_path / "a").write_text("same")
    log = tmp_path / "order.log"
    repo.cookbook("n", recipes={"default": f"""
        file '{tmp_path}/a' do
          content 'same'
          notifies :run, 'execute[target]', :immediately
        end
        execute 'target' do
          command ['sh', '-c', 'echo target >> {log}']
          action :nothing
        end
        """})
    run = repo.run("recipe[n]")
    assert run.returncode == 0, run.output
    assert not log.exists()


def test_delayed_notifications_run_when_a_later_resource_fails(repo, tmp_path):
    log = tmp_path / "order.log"
    repo.cookbook("n", recipes={"default": f"""
        file '{tmp_path}/a' do
          content 'a'
          notifies :run, 'execute[reload]', :delayed
        end
        execute 'boom' do
          command ['false']
        end
        execute 'never' do
          command ['sh', '-c', 'echo never >> {log}']
        end
        execute 'reload' do
          command ['sh', '-c', 'echo reload >> {log}']
          action :nothing
        end
        """})
    run = repo.run("recipe[n]")
    assert run.returncode == 1
    assert log.read_text().split() == ["reload"]
    assert "execute[boom] (n::default line 6) had an error" in run.last_line
    assert run.output.index("execute[reload] action run") < run.output.index("Chef Infra Client failed")


def test_subscribes_delayed_and_immediate(repo, tmp_path):
    log = tmp_path / "order.log"
    repo.cookbook("n", recipes={"default": f"""
        execute 'delayed-sub' do
          command ['sh', '-c', 'echo delayed-sub >> {log}']
          action :nothing
          subscribes :run, 'file[{tmp_path}/a]', :delayed
        end
        execute 'immediate-sub' do
          command ['sh', '-c', 'echo immediate-sub >> {log}']
          action :nothing
          subscribes :run, 'file[{tmp_path}/a]', :immediately
        end
        file '{tmp_path}/a' do
          content 'a'
        end
        execute 'last' do
          command ['sh', '-c', 'echo last >> {log}']
        end
        """})
    run = repo.run("recipe[n]")
    assert run.returncode == 0, run.output
    assert log.read_text().split() == ["immediate-sub", "last", "delayed-sub"]


def test_notifying_a_resource_that_does_not_exist_fails_before_converging(repo, tmp_path):
    repo.cookbook("n", recipes={"default": f"""
        file '{tmp_path}/a' do
          content 'a'
          notifies :restart, 'service[nope]'
        end
        """})
    run = repo.run("recipe[n]")
    assert run.returncode == 1
    assert not (tmp_path / "a").exists()
    assert "service[nope] cannot be found in the resource collection" in run.output


def test_a_failing_delayed_notification_after_a_failed_run_reports_both(repo, tmp_path):
    """lib/chef/runner.rb run_delayed_notifications: failures are collected (Chef::Exceptions::MultipleFailures)."""
    repo.cookbook("n", recipes={"default": f"""
        file '{tmp_path}/a' do
          content 'a'
          notifies :run, 'execute[broken restart]', :delayed
        end
        execute 'boom' do
          command ['false']
        end
        execute 'broken restart' do
          command ['sh', '-c', 'exit 7']
          action :nothing
        end
        """})
    run = repo.run("recipe[n]")
    assert run.returncode == 1
    fatal = [line.split("FATAL: ", 1)[1] for line in run.output.splitlines() if "FATAL: " in line][-3:]
    assert fatal[0] == "Chef::Exceptions::MultipleFailures: Multiple failures occurred:"
    assert fatal[1].startswith("* Mixlib::ShellOut::ShellCommandFailed occurred in chef run: execute[boom] (n::default")
    assert fatal[2].startswith("* Mixlib::ShellOut::ShellCommandFailed occurred in delayed notification: "
                               "execute[broken restart] (n::default line 9")
