#
# VRRP sanity checks shared by deployer_keepalived and the deployment-wide
# pre-flight.  Two keepalived clusters that share a virtual_router_id on one
# L2 segment fight over it (measured: spurious failovers and client errors), and
# keepalived's own config test cannot see it, because each host only knows its
# own file.  The origin talk: "Remember to have unique virtual_router_id's for
# each cluster in your environment".
module DeployerCommon
  class VrrpConflict < StandardError; end

  module Vrrp
    module_function

    # vips: every VIP definition of the deployment, {cluster => definition}
    # (the shape of node['deployer']['vips']).  Raises VrrpConflict naming the
    # clusters when a virtual_router_id is outside 1..255, is used twice on the
    # same segment (the 'segment' field, or the interface when absent), or when
    # two clusters name the same auth_pass data bag item.  Returns the vips.
    def check_unique_vrids!(vips)
      raise VrrpConflict, 'vips must be a Hash of cluster name => VIP definition' unless vips.is_a?(Hash)
      by_segment = Hash.new { |h, k| h[k] = {} }
      vips.each do |cluster, vip|
        vrid = virtual_router_id!(cluster, vip)
        segment = segment_of(cluster, vip)
        if (other = by_segment[segment][vrid])
          raise VrrpConflict, "virtual_router_id #{vrid} is used by both '#{other}' and '#{cluster}' on segment '#{segment}'"
        end
        by_segment[segment][vrid] = cluster
      end
      shared_items = vips.group_by { |_, vip| vip['auth_pass_item'] }.select { |item, users| item && users.size > 1 }
      shared_items.each do |item, users|
        raise VrrpConflict, "clusters #{users.map(&:first).join(', ')} share the auth_pass data bag item '#{item}'; give each cluster its own"
      end
      vips
    end

    def virtual_router_id!(cluster, vip)
      vrid = vip.is_a?(Hash) ? vip['virtual_router_id'] : nil
      unless vrid.is_a?(Integer) && vrid.between?(1, 255)
        raise VrrpConflict, "vips['#{cluster}']['virtual_router_id'] must be an integer in 1..255, got #{vrid.inspect}"
      end
      vrid
    end

    def segment_of(cluster, vip)
      segment = vip['segment'] || vip['interface']
      raise VrrpConflict, "vips['#{cluster}'] needs an 'interface' (or a 'segment')" if segment.to_s.empty?
      segment.to_s
    end
  end
end
