"""The build pipeline: from a recipe to a finished dataset folder (`build`), resumable and sharded: the rows of
each problem in worker processes or Ray tasks, finished chunks kept for resume, the folder written atomically."""
