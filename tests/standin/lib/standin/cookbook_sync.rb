# frozen_string_literal: true

require 'digest'
require 'fileutils'

module Standin
  # Chef::CookbookSynchronizer: ask the depsolver which cookbook versions the
  # run-list needs, then download every file of each version's manifest into
  # the file cache, skipping files whose checksum already matches, checking
  # each download's checksum, and removing files no manifest lists.
  class CookbookSync
    SEGMENTS = %w(recipes attributes libraries resources providers definitions templates files root_files).freeze

    def initialize(api, cache_dir, output)
      @api = api
      @cache_dir = cache_dir
      @output = output
    end

    def sync(environment, recipes)
      manifests = solve(environment, recipes)
      @output.say('Synchronizing cookbooks:')
      keep = []
      result = manifests.keys.sort.to_h do |name|
        manifest = manifests[name]
        @output.say("  - #{name} (#{manifest['version']})")
        keep.concat(sync_cookbook(name, manifest))
        deps = (manifest.dig('metadata', 'dependencies') || {})
        [name, CookbookVersion.new(name, manifest['version'], File.join(@cache_dir, name), deps)]
      end
      remove_stale(keep)
      result
    end

    private

    def solve(environment, recipes)
      @output.say("resolving cookbooks for run list: #{JSON.generate(recipes)}")
      @api.post("/environments/#{environment}/cookbook_versions", { 'run_list' => recipes })
    rescue ServerError => e
      raise unless e.status == 412

      detail = e.payload.is_a?(Hash) ? Array(e.payload['error']).first : nil
      detail = {} unless detail.is_a?(Hash)
      lines = ['Error Resolving Cookbooks for Run List:', "Expanded Run List: #{recipes.join(', ')}"]
      lines << "Missing Cookbooks: #{detail['non_existent_cookbooks'].join(', ')}" if Array(detail['non_existent_cookbooks']).any?
      lines << "Cookbooks with no matching version: #{detail['cookbooks_with_no_versions'].join(', ')}" if Array(detail['cookbooks_with_no_versions']).any?
      lines << ServerError.text(e.payload) if lines.size == 2
      raise Error, lines.join("\n")
    end

    # Every manifest entry, whichever API version shaped it (segments or all_files).
    def entries(manifest)
      return manifest['all_files'] if manifest['all_files']

      SEGMENTS.flat_map { |segment| Array(manifest[segment]) }
    end

    def sync_cookbook(name, manifest)
      entries(manifest).map do |entry|
        path = File.join(@cache_dir, name, entry.fetch('path'))
        unless File.exist?(path) && Digest::MD5.file(path).hexdigest == entry['checksum']
          @output.debug("downloading #{name}/#{entry['path']}")
          body = @api.download(entry.fetch('url'))
          actual = Digest::MD5.hexdigest(body)
          unless actual == entry['checksum']
            raise Error, "cookbook file #{name}/#{entry['path']}: checksum #{actual} does not match the manifest's #{entry['checksum']}"
          end

          FileUtils.mkdir_p(File.dirname(path))
          File.binwrite("#{path}.tmp", body)
          File.rename("#{path}.tmp", path)
        end
        path
      end
    end

    def remove_stale(keep)
      keep = keep.to_h { |p| [p, true] }
      Dir.glob(File.join(@cache_dir, '**', '*'), File::FNM_DOTMATCH).sort.reverse_each do |path|
        next if File.directory?(path) || keep[path]

        @output.debug("removing stale cookbook file #{path}")
        File.unlink(path)
      end
    end
  end
end
