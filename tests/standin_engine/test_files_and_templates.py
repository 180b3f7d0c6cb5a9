"""file, template and directory: staged content, verify, atomic replace, access, sensitive output.

Follows docs.chef.io/resources/file/ and /resources/template/ (verify: "%{path}"
is the staged file; "a failed verification leaves the file untouched"; Erubis
templates with variables as instance variables; file specificity), Chef's
lib/chef/resource/file/verification.rb and lib/chef/provider/file.rb
(tempfile in the target's directory, then rename), and
docs.chef.io/resources/common/ (sensitive: content and diffs not shown).
"""
import grp
import os
import pwd
import stat


def test_template_renders_variables_and_node_through_erubis(repo, tmp_path):
    repo.cookbook("t", templates={"app.conf.erb": """\
        <% @servers.each_with_index do |s, i| -%>
        server<%= i %> = <%= s %>
        <% end -%>
        platform = <%= node['platform'] %>
        """}, recipes={"default": f"""
        template '{tmp_path}/app.conf' do
          variables(servers: %w(a b))
          mode '0640'
        end
        """})
    run = repo.run("recipe[t]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "app.conf").read_text() == "server0 = a\nserver1 = b\nplatform = debian\n"
    assert stat.S_IMODE(os.stat(tmp_path / "app.conf").st_mode) == 0o640
    assert f"- create new file {tmp_path}/app.conf" in run.output
    assert "- change mode from '' to '0640'" in run.output


def test_template_from_another_cookbook_and_source(repo, tmp_path):
    repo.cookbook("lib", templates={"shared.erb": "shared <%= @x %>\n"})
    repo.cookbook("t", depends=("lib",), recipes={"default": f"""
        template '{tmp_path}/out' do
          cookbook 'lib'
          source 'shared.erb'
          variables(x: 42)
        end
        """})
    run = repo.run("recipe[t]")
    assert run.returncode == 0, run.output
    assert (tmp_path / "out").read_text() == "shared 42\n"


def test_failed_verify_leaves_the_target_untouched_and_no_staged_file(repo, tmp_path):
    target = tmp_path / "conf"
    target.write_text("good=1\n")
    repo.cookbook("t", recipes={"default": f"""
        file '{target}' do
          content "bad line\\n"
          verify "grep -q '=' %{{path}}"
        end
        """})
    run = repo.run("recipe[t]")
    assert run.returncode == 1
    assert target.read_text() == "good=1\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".chef-")) == []
    assert f"Proposed content for {target} failed verification grep -q '=' %{{path}}" in run.output
    assert "(t::default line 2)" in run.last_line


def test_verify_sees_the_staged_file_in_the_target_directory(repo, tmp_path):
    seen = tmp_path / "seen"
    repo.cookbook("t", recipes={"default": f"""
        file '{tmp_path}/conf' do
          content "ok=1\\n"
          verify "dirname %{{path}} > {seen} && grep -q ok=1 %{{path}}"
        end
        """})
    run = repo.run("recipe[t]")
    assert run.returncode == 0, run.output
    assert seen.read_text().strip() == str(tmp_path)
    assert (tmp_path / "conf").read_text() == "ok=1\n"


def test_sensitive_resources_show_no_content_or_diff(repo, tmp_path):
    target = tmp_path / "secret.conf"
    target.write_text("password=old-secret\n")
    repo.cookbook("t", recipes={"default": f"""
        file '{target}' do
          content "password=new-secret\\n"
          sensitive true
        end
        file '{tmp_path}/plain' do
          content "visible=new\\n"
        end
        execute 'leaky' do
          command ['sh', '-c', 'echo the-secret-output; exit 1']
          sensitive true
        end
        """})
    (tmp_path / "plain").write_text("visible=old\n")
    run = repo.run("recipe[t]")
    assert run.returncode == 1
    assert target.read_text() == "password=new-secret\n"
    assert "secret" not in run.output.replace("secret.conf", "").replace("sensitive", "")
    assert "suppressed sensitive resource" in run.output
    assert "-visible=old" in run.output and "+visible=new" in run.output   # the diff of a plain file
    assert "STDOUT/STDERR suppressed for sensitive resource" in run.output


def test_the_failure_report_does_not_evaluate_lazy_values(repo, tmp_path):
    repo.cookbook("t", recipes={"default": f"""
        file '{tmp_path}/missing-dir/f' do
          content lazy {{ 'secret-from-lazy' }}
        end
        """})
    run = repo.run("recipe[t]")
    assert run.returncode == 1
    assert "content lazy { ... }" in run.output
    assert "secret-from-lazy" not in run.output


def test_directory_recursive_and_access(repo, tmp_path):
    repo.cookbook("t", recipes={"default": f"""
        directory '{tmp_path}/a/b/c' do
          recursive true
          mode '0750'
        end
        directory '{tmp_path}/x/y'
        """})
    run = repo.run("recipe[t]")
    assert run.returncode == 1
    assert stat.S_IMODE(os.stat(tmp_path / "a/b/c").st_mode) == 0o750
    assert f"Parent directory {tmp_path}/x does not exist" in run.output


def test_update_keeps_a_backup_and_replaces_atomically(repo, tmp_path):
    target = tmp_path / "f"
    target.write_text("v1\n")
    os.chmod(target, 0o600)
    repo.cookbook("t", recipes={"default": f"file '{target}' do\n  content \"v2\\n\"\nend\n"})
    run = repo.run("recipe[t]")
    assert run.returncode == 0, run.output
    assert target.read_text() == "v2\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600     # the old mode carries over
    backups = list((tmp_path / "backup").rglob("f.chef-*"))
    assert len(backups) == 1 and backups[0].read_text() == "v1\n"


def test_owner_and_group_are_applied_and_then_up_to_date(repo, tmp_path):
    repo.cookbook("t", recipes={"default": f"""
        file '{tmp_path}/owned' do
          content 'x'
          owner 'nobody'
          group 'nogroup'
          mode '0640'
        end
        """})
    run = repo.run("recipe[t]")
    assert run.returncode == 0, run.output
    info = os.stat(tmp_path / "owned")
    assert (pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name) == ("nobody", "nogroup")
    os.chown(tmp_path / "owned", 0, 0)
    again = repo.run("recipe[t]")
    assert again.returncode == 0, again.output
    assert "- change owner from 'root' to 'nobody'" in again.output
    assert "- change group from 'root' to 'nogroup'" in again.output
    assert pwd.getpwuid(os.stat(tmp_path / "owned").st_uid).pw_name == "nobody"
    assert repo.run("recipe[t]").updated() == (0, 1)
