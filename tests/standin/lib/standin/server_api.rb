# frozen_string_literal: true

require 'json'
require 'net/http'
require 'openssl'
require 'uri'
require 'mixlib/authentication/signedheaderauth'

module Standin
  # The Chef server REST API as this node's client: every request signed with
  # the node's own key (mixlib-authentication, protocol 1.3, server API v0).
  class ServerAPI
    SERVER_API_VERSION = '0'

    attr_reader :url

    def initialize(url, client_name, key_path, verify_tls:, output:)
      @url = url.to_s.chomp('/')
      @base = URI(@url)
      @client_name = client_name
      @output = output
      @verify_tls = verify_tls
      begin
        @key = OpenSSL::PKey::RSA.new(File.read(key_path))
      rescue SystemCallError, OpenSSL::PKey::PKeyError => e
        raise Error, "cannot read the client key #{key_path}: #{e.message}"
      end
      @connections = {}
    end

    def get(path, ok: [200])
      request('GET', path, nil, ok: ok)
    end

    def post(path, body, ok: [200, 201])
      request('POST', path, body, ok: ok)
    end

    def put(path, body, ok: [200, 201])
      request('PUT', path, body, ok: ok)
    end

    # Signed X-Ops headers for one request (what the Chef server checks).
    def self.signed_headers(method, path, body, client_name, key, timestamp = Time.now.utc.iso8601)
      Mixlib::Authentication::SignedHeaderAuth.signing_object(
        http_method: method, path: path, body: body, timestamp: timestamp, user_id: client_name,
        proto_version: '1.3', headers: { 'X-Ops-Server-API-Version' => SERVER_API_VERSION }
      ).sign(key).merge('X-Ops-Server-API-Version' => SERVER_API_VERSION)
    end

    # A GET of a full URL the server handed out (cookbook file URLs), returning bytes.
    def download(url)
      uri = rebase(URI(url))
      response = perform(Net::HTTP::Get, uri, '')
      raise ServerError.new(response.code.to_i, parse(response.body), "GET #{uri.path}") unless response.code == '200'

      response.body
    end

    private

    def request(method, path, body, ok:)
      uri = URI(@url + path)
      text = body.nil? ? '' : JSON.generate(body)
      klass = { 'GET' => Net::HTTP::Get, 'POST' => Net::HTTP::Post, 'PUT' => Net::HTTP::Put }.fetch(method)
      @output.debug("#{method} #{uri}")
      response = perform(klass, uri, text)
      payload = parse(response.body)
      status = response.code.to_i
      if status == 401
        raise Error, "Authentication failed as client '#{@client_name}' (#{method} #{path}): #{ServerError.text(payload)}"
      end
      raise ServerError.new(status, payload, "#{method} #{path}", response) unless ok.include?(status)

      payload
    end

    # File URLs carry the server's own idea of its host; a node may reach it
    # through another address (a relay), so they are re-based onto chef_server_url.
    def rebase(uri)
      return uri if uri.host == @base.host && uri.port == @base.port

      @output.debug("re-basing #{uri} onto #{@base.scheme}://#{@base.host}:#{@base.port}")
      rebased = uri.dup
      rebased.scheme = @base.scheme
      rebased.host = @base.host
      rebased.port = @base.port
      rebased
    end

    def perform(klass, uri, text)
      req = klass.new(uri.request_uri)
      req['Accept'] = 'application/json'
      req['Content-Type'] = 'application/json'
      req['X-Chef-Version'] = VERSION
      ServerAPI.signed_headers(klass::METHOD, uri.path, text, @client_name, @key).each { |k, v| req[k] = v }
      req.body = text unless klass == Net::HTTP::Get
      connection(uri).request(req)
    rescue SystemCallError, SocketError, Net::OpenTimeout, Net::ReadTimeout, OpenSSL::SSL::SSLError => e
      raise Error, "cannot reach the Chef server at #{@url}: #{e.class}: #{e.message}"
    end

    def connection(uri)
      key = [uri.host, uri.port, uri.scheme]
      @connections[key] ||= begin
        http = Net::HTTP.new(uri.host, uri.port)
        http.use_ssl = uri.scheme == 'https'
        http.verify_mode = @verify_tls ? OpenSSL::SSL::VERIFY_PEER : OpenSSL::SSL::VERIFY_NONE
        http.open_timeout = 30
        http.read_timeout = 120
        http.start
      end
    end

    def parse(text)
      return {} if text.nil? || text.strip.empty?

      JSON.parse(text)
    rescue JSON::ParserError
      { 'error' => [text[0, 300]] }
    end
  end
end
