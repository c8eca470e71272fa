// Package tasks holds the pack's Concourse tasks (tasks/<name>/task.yml and task.sh) and, in its
// tests, runs each one with `cpi-ci execute` on fixtures and the real tools. It has no code.
package tasks
