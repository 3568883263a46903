"""The five questions' code (../shared/seeds), as the learners wrote it, made runnable with the
smallest fixes (each marked ``# fix:``), and wrapped so that chainrule can check it."""
