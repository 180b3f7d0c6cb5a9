"""Custom resources in unified mode, and updated-ness of a custom resource.

Follows docs.chef.io/unified_mode/ ("Actions on Later Resources": immediate
notifications to later resources wait until they are declared), Chef's
lib/chef/run_context.rb (notifies_delayed: a delayed subscription to an already
updated resource is queued at once) and lib/chef/provider.rb
(compile_and_converge_action: the custom resource is updated when any inner
resource is).
"""

THING = """
unified_mode true
provides :thing
property :dir, String, name_property: true

action :create do
  log_file = "#{new_resource.dir}/order.log"
  execute 'first' do
    command ['sh', '-c', "echo first >> #{log_file}"]
  end
  # Runs now, as it is declared: the next line sees its effect.
  seen = ::File.read(log_file).split
  execute 'second' do
    command ['sh', '-c', "echo second-saw-#{seen.join('+')} >> #{log_file}"]
    notifies :run, 'execute[later]', :immediately
  end
  execute 'middle' do
    command ['sh', '-c', "echo middle >> #{log_file}"]
  end
  execute 'later' do
    command ['sh', '-c', "echo later >> #{log_file}"]
    action :nothing
  end
  execute 'subscriber' do
    command ['sh', '-c', "echo subscriber >> #{log_file}"]
    action :nothing
    subscribes :run, 'execute[first]', :delayed
  end
  execute 'end of action' do
    command ['sh', '-c', "echo end >> #{log_file}"]
  end
end
"""


def test_unified_mode_runs_each_resource_as_declared(repo, tmp_path):
    repo.cookbook("u", resources={"thing": THING}, recipes={"default": f"""
        thing '{tmp_path}'
        execute 'after the custom resource' do
          command ['sh', '-c', 'echo recipe >> {tmp_path}/order.log']
        end
        """})
    run = repo.run("recipe[u]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "order.log").read_text().split() == [
        "first", "second-saw-first", "middle", "later", "end", "subscriber", "recipe"]


def test_immediate_subscription_to_an_earlier_resource_is_an_error_in_unified_mode(repo, tmp_path):
    repo.cookbook("u", resources={"thing": """
        unified_mode true
        provides :thing
        action :create do
          execute 'early' do
            command ['true']
          end
          execute 'late' do
            command ['true']
            subscribes :run, 'execute[early]', :immediately
          end
        end
        """}, recipes={"default": "thing 'x'\n"})
    run = repo.run("recipe[u]")
    assert run.returncode == 1
    assert "UnifiedModeImmediateSubscriptionEarlierResource" in run.last_line
    assert "u/resources/thing.rb" in run.output


def test_custom_resource_is_updated_exactly_when_an_inner_resource_is(repo, tmp_path):
    log = tmp_path / "notified.log"
    repo.cookbook("u", resources={"writer": """
        unified_mode true
        provides :writer
        property :path, String, name_property: true
        action :create do
          file new_resource.path do
            content 'x'
          end
        end
        """}, recipes={"default": f"""
        writer '{tmp_path}/out' do
          notifies :run, 'execute[on update]', :immediately
        end
        execute 'on update' do
          command ['sh', '-c', 'echo updated >> {log}']
          action :nothing
        end
        """})
    first = repo.run("recipe[u]")
    assert first.returncode == 0, first.output
    assert log.read_text().split() == ["updated"]
    second = repo.run("recipe[u]")
    assert second.returncode == 0, second.output
    assert log.read_text().split() == ["updated"]
    assert second.updated() == (0, 3)   # writer, its file, and the :nothing execute


def test_delayed_notifications_inside_an_action_run_at_the_end_of_that_action(repo, tmp_path):
    repo.cookbook("u", resources={"svc": f"""
        unified_mode true
        provides :svc
        action :create do
          file '{tmp_path}/conf' do
            content 'c'
            notifies :run, 'execute[restart]', :delayed
          end
          execute 'restart' do
            command ['sh', '-c', 'echo restart >> {tmp_path}/order.log']
            action :nothing
          end
          execute 'inner last' do
            command ['sh', '-c', 'echo inner-last >> {tmp_path}/order.log']
          end
        end
        """}, recipes={"default": f"""
        svc 'a'
        execute 'recipe next' do
          command ['sh', '-c', 'echo recipe-next >> {tmp_path}/order.log']
        end
        """})
    run = repo.run("recipe[u]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "order.log").read_text().split() == ["inner-last", "restart", "recipe-next"]


def test_a_delayed_notification_from_inside_an_action_to_a_recipe_resource_runs_at_the_end_of_the_run(repo, tmp_path):
    """Chef's lib/chef/runner.rb: "send the notification to the run_context of the receiving resource"."""
    repo.cookbook("u", resources={"conf": f"""
        unified_mode true
        provides :conf
        action :create do
          file '{tmp_path}/conf' do
            content 'c'
            notifies :run, 'execute[restart from the recipe]', :delayed
          end
        end
        """}, recipes={"default": f"""
        execute 'restart from the recipe' do
          command ['sh', '-c', 'echo restart >> {tmp_path}/order.log']
          action :nothing
        end
        conf 'a'
        execute 'recipe last' do
          command ['sh', '-c', 'echo recipe-last >> {tmp_path}/order.log']
        end
        """})
    run = repo.run("recipe[u]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "order.log").read_text().split() == ["recipe-last", "restart"]
