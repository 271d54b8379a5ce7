"""The class: every team's published runs in one shared store, a gallery of them, and a run's
tables and charts exported for a paper. Host side.

    store.py    the class results store (SQLAlchemy Core: a SQLite file, or PostgreSQL), versioned
    publish.py  a run folder -> one publication (results, memo, decision, POC.md files)
    gallery.py  the store -> a static offline site: tools by teams, agreement, one page per publication
    export.py   a run -> CSV, LaTeX (booktabs) and SVG files
"""
