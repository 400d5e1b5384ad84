"""The build pipeline: from a recipe to a finished dataset folder (`build`), resumable and sharded."""
