// Loaded with --import ahead of the CLI by runCli({ brokenRule }): the named rule throws, so tests
// can see how a child process reports a failing rule.
import { breakRule } from './broken-rule.js';

const id = process.env.LIFECYCLE_GUARD_TEST_BROKEN_RULE;
if (id !== undefined) breakRule(id, new Error('broken for the test'));
