tool
extends EditorPlugin

# Runs in the headless editor: waits until the editor's file system scan and import are done for every .glb in
# the project, prints GEN3D_IMPORTED (or GEN3D_IMPORT_TIMEOUT) and quits.

var frames = 0
var done = false


func _enter_tree():
	set_process(true)


func glbs():
	var out = []
	var dir = Directory.new()
	dir.open("res://")
	dir.list_dir_begin(true, true)
	var f = dir.get_next()
	while f != "":
		if f.ends_with(".glb"):
			out.append(f)
		f = dir.get_next()
	return out


func all_imported():
	for f in glbs():
		if not File.new().file_exists("res://" + f + ".import"):
			return false
		if not ResourceLoader.exists("res://" + f):
			return false
	return true


func _process(_delta):
	if done:
		return
	frames += 1
	var fs = get_editor_interface().get_resource_filesystem()
	if frames > 3000:
		done = true
		print("GEN3D_IMPORT_TIMEOUT")
		get_tree().quit()
	elif frames > 5 and not fs.is_scanning() and all_imported():
		done = true
		print("GEN3D_IMPORTED %d" % glbs().size())
		get_tree().quit()
