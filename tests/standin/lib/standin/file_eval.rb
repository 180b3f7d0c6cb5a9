# frozen_string_literal: true

module Standin
  # Evaluates a cookbook file on `target`.  A string eval sees the caller's local
  # variables, so this method has only these two, named to collide with nothing.
  def self.from_file(_standin_target_, _standin_file_)
    _standin_target_.instance_eval(::File.read(_standin_file_), _standin_file_, 1)
  end

  def self.class_from_file(_standin_target_, _standin_file_)
    _standin_target_.class_eval(::File.read(_standin_file_), _standin_file_, 1)
  end
end
