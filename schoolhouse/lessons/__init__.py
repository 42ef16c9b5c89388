"""Writing lessons: the curriculum's prompts, the kinds (stories, textbooks, exercises), refinement, and the runner that asks the teacher for them."""
