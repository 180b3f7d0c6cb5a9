# frozen_string_literal: true

module Standin
  # Chef's doc formatter: one line per resource action, "(up to date)" or the
  # changes below it, an error block naming the resource and where it was
  # declared, and the closing "finished, X/Y resources updated" line.
  class Formatter
    RULE = '=' * 80

    def initialize(output)
      @output = output
      @seen = {}
      @updated = {}
    end

    def total
      @seen.size
    end

    def updated
      @updated.size
    end

    def resource_started(resource)
      @seen[resource.object_id] = true
      return unless resource.declared_in_recipe && resource.run_context.depth.zero?

      recipe = "#{resource.cookbook_name}::#{resource.recipe_name}"
      @output.say("Recipe: #{recipe}") unless recipe == @recipe
      @recipe = recipe
    end

    def resource_updated(resource)
      @updated[resource.object_id] = true
    end

    def line(depth, text)
      @output.say("#{'  ' * (depth + 1)}#{text}")
    end

    # "- change" lines; an Array is detail (a diff) under the change before it, unmarked.
    def changes(depth, lines)
      lines.each do |l|
        next l.each { |detail| @output.say("#{'  ' * (depth + 3)}#{detail}") } if l.is_a?(Array)

        @output.say("#{'  ' * (depth + 2)}- #{l}")
      end
    end

    def recipe(name)
      @output.say("Recipe: #{name}")
    end

    def resource_failed(resource, action, error, detailed:)
      pad = '  ' * (resource.run_context.depth + 2)
      out = ->(text = '') { @output.say(text.empty? ? '' : "#{pad}#{text}") }
      out.call
      out.call(RULE)
      out.call("Error executing action `#{action}` on resource '#{resource}'")
      out.call(RULE)
      return out.call unless detailed

      out.call
      out.call(error.class.name)
      out.call('-' * error.class.name.size)
      error.message.each_line { |l| out.call(l.chomp) }
      cookbook_trace(error, resource.run_context).then do |trace|
        next if trace.empty?

        out.call
        out.call('Cookbook Trace: (most recent call first)')
        out.call('----------------------------------------')
        trace.each { |t| out.call(t) }
      end
      out.call
      out.call('Resource Declaration:')
      out.call('---------------------')
      out.call("# In #{resource.source_line}")
      out.call
      if resource.sensitive
        out.call('suppressed sensitive resource output')
      else
        out.call('Compiled Resource:')
        out.call('------------------')
        resource.to_text.each_line { |l| out.call(l.chomp) }
      end
      out.call
    end

    def ignored_failure(resource, action, error)
      line(resource.run_context.depth + 1,
           "Error executing action `#{action}` on resource '#{resource}' (ignore_failure): #{error.class}: #{error.message}")
    end

    def compile_error(path, error, context)
      @output.say('')
      @output.say(RULE)
      @output.say("Recipe Compile Error in #{path}")
      @output.say(RULE)
      @output.say('')
      @output.say(error.class.name)
      @output.say('-' * error.class.name.size)
      error.message.each_line { |l| @output.say(l.chomp) }
      trace = cookbook_trace(error, context)
      return if trace.empty?

      @output.say('')
      @output.say('Cookbook Trace: (most recent call first)')
      @output.say('----------------------------------------')
      trace.each { |t| @output.say("  #{t}") }
      @output.say('')
    end

    def cookbook_trace(error, context)
      Array(error.backtrace).select { |frame| context&.relative_cookbook_path(frame.split(':').first) }
    end

    def run_completed(elapsed, why_run)
      @output.say('')
      @output.say('Running handlers:')
      @output.say('Running handlers complete')
      verb = why_run ? 'would have been updated' : 'updated'
      @output.say("Chef Infra Client finished, #{updated}/#{total} resources #{verb} in #{format_elapsed(elapsed)}")
    end

    def run_failed(elapsed)
      @output.say('')
      @output.say('Running handlers:')
      @output.say('Running handlers complete')
      @output.say("Chef Infra Client failed. #{updated} resources updated in #{format_elapsed(elapsed)}")
    end

    def format_elapsed(seconds)
      minutes, secs = seconds.divmod(60)
      minutes.positive? ? format('%d minutes %02d seconds', minutes, secs) : format('%02d seconds', secs.round)
    end
  end
end
