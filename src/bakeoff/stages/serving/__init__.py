"""The model-serving stage: the reference flights model behind real servers, under real load."""
