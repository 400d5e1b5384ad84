"""The trace-building stage: one problem and its deviation plan -> training rows (`row`), and the `branches` layout."""
