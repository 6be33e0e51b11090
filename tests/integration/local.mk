# owned by its area; see README
