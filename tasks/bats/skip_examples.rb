# Loaded by the bats task (rspec --require): skips the examples BATS_SKIP_EXAMPLES names, one
# description per line (an example's own description or its full one), as pending with
# BATS_SKIP_REASON, so BATs' specs are never patched. Its before hook is registered before
# BATs' spec_helper loads, so a skipped example waits for no director task.
skips = ENV.fetch('BATS_SKIP_EXAMPLES', '').lines.map(&:strip).reject(&:empty?)
reason = ENV.fetch('BATS_SKIP_REASON', '').strip
reason = 'skipped by BATS_SKIP_EXAMPLES' if reason.empty?

unless skips.empty?
  RSpec.configure do |config|
    config.before(:each) do |example|
      skip(reason) if skips.include?(example.description) || skips.include?(example.full_description)
    end
  end
end
