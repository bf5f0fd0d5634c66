#!/usr/bin/env -S node --max-semi-space-size=4
/** The `phonefleet` binary: parse, run, and turn any failure into one line and an exit code. */
import type { Command } from "commander";
import { reportError } from "./errors.js";
import { buildProgram } from "./program.js";

const program = buildProgram();
let running: Command | undefined;
program.hook("preAction", (_program, command) => {
  running = command;
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error, running);
}
