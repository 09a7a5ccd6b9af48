/* KNOWN LIMIT: a compile error whose file name (set by #line) is the compiler's out-of-memory message.
 * The harness gives: error (resource_limit). It deserves: error (compile_error). The verdict is the
 * same; the compiler's context lines ("NAME: In function ...") carry the name, and telling them from
 * the compiler's own messages needs its diagnostics in a structured form. */
#line 1 "virtual memory exhausted"
int eq_create(void) { return undeclared_identifier; }
