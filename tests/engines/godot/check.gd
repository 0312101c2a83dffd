extends SceneTree

# Run with: godot3-server --path DIR --script res://check.gd (after the editor imported the GLBs).
# Loads every imported .glb like a game would, instances it and prints its node tree as one JSON line.


func describe(node):
	var d = {"name": node.name, "class": node.get_class(), "children": []}
	if node is MeshInstance and node.mesh:
		var m = node.mesh
		var arrays = m.surface_get_arrays(0)
		var mat = node.get_surface_material(0)
		if mat == null:
			mat = m.surface_get_material(0)
		d["surfaces"] = m.get_surface_count()
		d["triangles"] = arrays[Mesh.ARRAY_INDEX].size() / 3 if arrays[Mesh.ARRAY_INDEX] else 0
		d["tangents"] = arrays[Mesh.ARRAY_TANGENT] != null and arrays[Mesh.ARRAY_TANGENT].size() > 0
		var box = m.get_aabb()
		d["size"] = [box.size.x, box.size.y, box.size.z]
		d["min"] = [box.position.x, box.position.y, box.position.z]
		if mat != null:
			d["material"] = mat.resource_name
			d["albedo_texture"] = mat.albedo_texture != null
			d["normal_texture"] = mat.normal_enabled and mat.normal_texture != null
	if node is CollisionShape and node.shape:
		d["shape"] = node.shape.get_class()
		if node.shape is ConvexPolygonShape:
			d["points"] = node.shape.points.size()
	for c in node.get_children():
		d["children"].append(describe(c))
	return d


func _init():
	var out = {}
	var dir = Directory.new()
	dir.open("res://")
	dir.list_dir_begin(true, true)
	var f = dir.get_next()
	while f != "":
		if f.ends_with(".glb"):
			var scene = load("res://" + f)
			if scene == null:
				out[f] = null
			else:
				var inst = scene.instance()
				out[f] = describe(inst)
				inst.free()
		f = dir.get_next()
	print("GEN3D_JSON " + to_json(out))
	quit()
