-- wrk script for endpoint_bench.py: cycle through request paths read from a file, one per line.
-- Arguments (after `--`): PATHS_FILE MODE SUFFIX. With MODE "unique" every request gets
-- SUFFIX .. thread .. "-" .. counter appended (a percent-encoded SPARQL comment), so that no
-- two requests carry the same query text and no cache can answer one from another.

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  unique = args[2] == "unique"
  suffix = args[3]
  counter = 0
end

function request()
  counter = counter + 1
  local path = paths[(counter - 1) % #paths + 1]
  if unique then
    path = path .. suffix .. thread_number .. "-" .. counter
  end
  return wrk.format("GET", path)
end
