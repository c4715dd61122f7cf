"""rescale-lab training side: PyTorch IRN / SAIN recipes that produce models/."""
