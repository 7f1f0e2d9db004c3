"""What the checks of conformance/checks/ stand on: what a check is and how the suite lists it (registry),
what it sees and finds (base), the context that builds its requests (context, shapes, expectations), the
one retry and hang policy (sender, hang_budget), independent requests in flight (ordered), the fixture pool
(pool), reads that follow a write (lag), what an attempt recorded (recorder), whether a legal value reached
the application (reached), values that only resemble the real ones (lookalikes) and ids a store would match
as patterns (patterns), the stateful check's model (stateful_session), and the fuzz check's case generation
(generation, negative, corpus)."""
