# frozen_string_literal: true

module Standin
  # One chef-client run, in chef-client's order: node, ohai, environment,
  # run-list expansion, cookbook sync, compile, converge, node save.
  class ClientRun
    def initialize(config, output)
      @config = config
      @output = output
      @started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    def run
      @output.say("Starting Chef Infra Client, version #{VERSION} (STAND-IN, tests/standin; not the real chef-client)")
      @output.say('WARN: why-run mode: nothing will be changed') if @config.why_run?
      source = build_source
      node = load_node(source)
      environment = source.environment(node.chef_environment)
      node.attributes.automatic = OhaiData.collect(@output)
      run_list = @config[:override_runlist] || node.run_list
      @output.info("Run List is [#{run_list.join(', ')}]")
      expansion = RunListExpansion.new(source, node.chef_environment).expand(run_list)
      @output.info("Run List expands to [#{expansion.recipes.join(', ')}]")
      apply_levels(node, environment, expansion)
      cookbooks = source.cookbooks(node.chef_environment, expansion.recipes)
      record_automatic(node, expansion, cookbooks)
      DataBag.source = source
      converge(node, cookbooks, expansion.recipes, environment)
      save(source, node)
      @formatter.run_completed(elapsed, @config.why_run?)
    rescue StandardError, ScriptError => e
      fail_run(e)
      e.instance_variable_set(:@standin_reported, true)
      raise
    end

    private

    def build_source
      return LocalRepository.new(@config, @output) if @config.local_mode?

      api = ServerAPI.new(@config[:chef_server_url], @config.node_name, @config[:client_key],
                          verify_tls: @config.verify_tls?, output: @output)
      ServerSource.new(api, @config, @output)
    end

    def load_node(source)
      data = source.node(@config.node_name)
      if data.nil?
        data = { 'name' => @config.node_name, 'json_class' => 'Chef::Node', 'chef_type' => 'node',
                 'chef_environment' => '_default', 'run_list' => [], 'normal' => {}, 'default' => {},
                 'override' => {}, 'automatic' => {} }
        source.create_node(data) unless @config.why_run?
      end
      node = Node.from_hash(data)
      json = json_attribs
      node.run_list = json.delete('run_list').map(&:to_s) if json.key?('run_list')
      node.attributes.normal = Attributes.deep_merge_arrays(Attributes.plain(node.normal), json)
      node.chef_environment = @config[:environment] if @config[:environment]
      node
    end

    def json_attribs
      path = @config[:json_attribs]
      return {} unless path

      JSON.parse(File.read(path))
    rescue SystemCallError, JSON::ParserError => e
      raise Error, "cannot load JSON attributes from #{path}: #{e.message}"
    end

    def apply_levels(node, environment, expansion)
      node.attributes.env_default = environment['default_attributes'] || {}
      node.attributes.env_override = environment['override_attributes'] || {}
      node.attributes.role_default = expansion.default_attrs
      node.attributes.role_override = expansion.override_attrs
    end

    def record_automatic(node, expansion, cookbooks)
      auto = node.automatic
      auto['roles'] = expansion.roles
      auto['recipes'] = expansion.recipes
      auto['expanded_run_list'] = expansion.recipes
      auto['cookbooks'] = cookbooks.transform_values { |cb| { 'version' => cb.version } }
      auto['chef_packages'] = { 'chef' => { 'version' => VERSION, 'standin' => true } }
    end

    def converge(node, cookbooks, recipes, environment)
      @formatter = Formatter.new(@output)
      runner = Runner.new(@output, @formatter, why_run: @config.why_run?)
      compiler = CookbookCompiler.new(cookbooks, recipes, node, @output)
      context = RunContext.new(node: node, runner: runner, compiler: compiler, cookbook_roots: compiler.cookbook_roots)
      compiler.run_context = context
      @context = context
      @output.say('Compiling Cookbooks...')
      compiler.compile
      @output.say("Converging #{context.resources.size} resources")
      test_sleep(environment)
      runner.converge(context)
    end

    # Test hook: environment attribute standin.sleep = N makes the converge last N seconds.
    def test_sleep(environment)
      seconds = [environment['override_attributes'], environment['default_attributes']].map do |attrs|
        (attrs || {}).dig('standin', 'sleep')
      end.compact.first.to_f
      return unless seconds.positive?

      @output.say("stand-in: simulating a long converge (#{format('%g', seconds)}s)")
      sleep(seconds)
    end

    def save(source, node)
      if @config.why_run?
        @output.warn('In why-run mode, so NOT performing node save.')
      elsif @config[:override_runlist]
        @output.warn('Skipping final node save because override_runlist was given')
      else
        source.save_node(node.for_json)
      end
    end

    def elapsed
      Process.clock_gettime(Process::CLOCK_MONOTONIC) - @started
    end

    def fail_run(error)
      @formatter ||= Formatter.new(@output)
      failure = error.instance_variable_get(:@standin_failure)
      if failure.nil? && @context && (frame = first_cookbook_frame(error))
        @formatter.compile_error(frame.split(':').first, error, @context)
      end
      @formatter.run_failed(elapsed)
      write_stacktrace(error)
      where = failure.nil? && @context ? first_cookbook_frame(error) : nil
      where = cookbook_location(error, where) if where
      lines = error.message.lines.map(&:chomp)
      # A resource or compile failure's detail is in the error block above; its
      # FATAL line is the one-line summary a caller's output tail shows.
      lines = lines.first(1) if failure || where
      lines[0] = "#{error.class}: #{lines[0]}#{where ? " (at #{where})" : ''}"
      lines.each { |line| @output.fatal(line) }
    end

    # "lib/x.rb:18, from recipes/y.rb:25": the failing line and, when that is
    # not in a recipe, the recipe line that led to it.
    def cookbook_location(error, frame)
      short = ->(f) { "#{@context.relative_cookbook_path(f.split(':').first)}:#{f.split(':')[1]}" }
      recipe = Array(error.backtrace).find { |f| short.call(f).include?('/recipes/') && @context.relative_cookbook_path(f.split(':').first) }
      recipe && recipe != frame ? "#{short.call(frame)}, from #{short.call(recipe)}" : short.call(frame)
    end

    def first_cookbook_frame(error)
      Array(error.backtrace).find { |frame| @context.relative_cookbook_path(frame.split(':').first) }
    end

    def write_stacktrace(error)
      path = File.join(@config.file_cache_path.to_s, 'chef-stacktrace.out')
      FileUtils.mkdir_p(File.dirname(path))
      File.write(path, "#{error.class}: #{error.message}\n#{Array(error.backtrace).join("\n")}\n")
      @output.fatal("Stacktrace dumped to #{path}")
    rescue SystemCallError
      nil
    end
  end
end
